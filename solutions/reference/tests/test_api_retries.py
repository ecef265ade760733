"""Retries and deadlines, observed from the fake server's ledger (server-side clock)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from conftest import MakeClient, calls, script, settled_calls

from fake_llm.runner import FakeLLM
from litreview.policy import Policy

EXTRACT = {"paper_id": "P0042"}
# Short deadlines so that waiting out a hang takes a fraction of a second.
QUICK = Policy(request_deadline_s=1.0, attempt_timeout_s=0.3, fallback_reserve_s=0.4)


def error_code(response: object) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]  # type: ignore[attr-defined]


def test_transient_failures_are_retried_until_one_succeeds(
    fake: FakeLLM, client: httpx.Client
) -> None:
    script(fake, {"kind": "http_error", "status": 503}, times=2, task="extract")
    assert client.post("/extractions", json=EXTRACT).status_code == 200
    rows = calls(fake, task="extract")
    assert [(row["attempt"], row["status"]) for row in rows] == [(1, 503), (2, 503), (3, 200)]


@pytest.mark.parametrize("fault", [{"kind": "reset"}, {"kind": "http_error", "status": 529},
                                   {"kind": "http_error", "status": 502}])
def test_connection_errors_and_gateway_pages_are_transient(
    fake: FakeLLM, client: httpx.Client, fault: dict[str, object]
) -> None:
    script(fake, fault, task="extract")
    assert client.post("/extractions", json=EXTRACT).status_code == 200
    assert len(calls(fake, task="extract")) == 2


def test_retry_after_is_honoured(fake: FakeLLM, client: httpx.Client) -> None:
    script(fake, {"kind": "http_error", "status": 429, "retry_after_ms": 300}, task="extract")
    assert client.post("/extractions", json=EXTRACT).status_code == 200
    first, second = calls(fake, task="extract")
    assert second["arrival_s"] - first["finish_s"] >= 0.3


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"kind": "http_error", "status": 503}, (503, "llm_unavailable")),
        ({"kind": "http_error", "status": 429, "retry_after_ms": 20}, (429, "rate_limited")),
    ],
)
def test_four_attempts_at_most_then_the_right_error(
    fake: FakeLLM, client: httpx.Client, fault: dict[str, object], expected: tuple[int, str]
) -> None:
    script(fake, fault, times=None, task="extract")
    assert error_code(client.post("/extractions", json=EXTRACT)) == expected
    assert len(calls(fake, task="extract")) == 4


def test_a_rejection_is_not_retried(fake: FakeLLM, client: httpx.Client) -> None:
    script(fake, {"kind": "http_error", "status": 400}, times=None, task="extract")
    assert error_code(client.post("/extractions", json=EXTRACT)) == (502, "llm_rejected")
    assert len(calls(fake)) == 1


def test_x_should_retry_false_is_obeyed(fake: FakeLLM, client: httpx.Client) -> None:
    fault = {"kind": "http_error", "status": 503, "should_retry": False}
    script(fake, fault, times=None, task="extract")
    assert error_code(client.post("/extractions", json=EXTRACT)) == (503, "llm_unavailable")
    assert len(calls(fake)) == 1


@pytest.mark.parametrize("endpoint", ["/extractions", "/answers"])
def test_a_hanging_model_is_a_504_and_its_calls_are_closed(
    fake: FakeLLM, make_client: MakeClient, endpoint: str
) -> None:
    script(fake, {"kind": "hang"}, times=None)
    body = EXTRACT if endpoint == "/extractions" else {"question": "Why?", "paper_ids": ["P0042"]}
    response = make_client(policy=QUICK).post(endpoint, json=body)
    assert error_code(response) == (504, "llm_timeout")
    rows = settled_calls(fake)
    assert rows and all(row["client_gone"] for row in rows)
    # Server clock; a generous bound: the calls were closed at the deadline, not left running.
    last_finish_s = max(row["finish_s"] for row in rows)
    assert last_finish_s - rows[0]["arrival_s"] < QUICK.request_deadline_s + 0.5


def test_a_latency_spike_is_cut_short_and_retried(fake: FakeLLM, make_client: MakeClient) -> None:
    script(fake, {"kind": "latency", "delay_ms": 5000}, task="extract")
    assert make_client(policy=QUICK).post("/extractions", json=EXTRACT).status_code == 200
    first, second = settled_calls(fake, task="extract")
    assert first["client_gone"] and second["status"] == 200


def test_other_endpoints_answer_while_a_model_call_hangs(
    fake: FakeLLM, make_client: MakeClient
) -> None:
    script(fake, {"kind": "hang"}, times=None)
    client = make_client(policy=QUICK)
    with ThreadPoolExecutor(max_workers=1) as pool:
        hanging = pool.submit(client.post, "/extractions", json=EXTRACT)
        while not calls(fake):  # until the extraction is waiting on the model
            time.sleep(0.01)
        assert client.get("/health").status_code == 200
        assert client.get("/papers/P0001").status_code == 200
        assert not hanging.done()
        assert hanging.result().status_code == 504
