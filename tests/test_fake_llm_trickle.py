"""The `trickle` fault: a plain 200 whose body arrives a piece at a time, and a client that leaves
in the middle of it is seen leaving."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from fake_llm.runner import FakeLLM

ASK = {"model": "sim-gpt-large", "messages": [{"role": "user", "content": "Extract P0007 fields"}]}
GENEROUS_S = 10.0  # a bound for "was closed", far above the time the fake takes to notice


def trickle_rule(pieces: int, interval_ms: float) -> dict[str, object]:
    return {"match": {"paper_id": "P0007"}, "times": None,
            "fault": {"kind": "trickle", "pieces": pieces, "interval_ms": interval_ms}}


def test_a_trickled_body_arrives_whole_in_several_pieces(fake: FakeLLM) -> None:
    plain = httpx.post(f"{fake.openai_base_url}/chat/completions", json=ASK, timeout=10)
    fake.admin.script([trickle_rule(pieces=8, interval_ms=60)])
    received = []
    with httpx.stream("POST", f"{fake.openai_base_url}/chat/completions", json=ASK, timeout=10) as response:
        assert response.status_code == 200
        received = list(response.iter_raw())
    body = b"".join(received)
    assert len(received) >= 2, "the body came in one piece"
    assert json.loads(body)["choices"] == plain.json()["choices"]
    row = fake.admin.ledger()[-1]
    assert (row["fault"], row["status"], row["usage_reported"], row["client_gone"]) == \
        ("trickle", 200, True, False)


def test_a_stream_is_not_trickled(fake: FakeLLM) -> None:
    fake.admin.script([{**trickle_rule(pieces=8, interval_ms=60), "times": 1}])
    streamed = httpx.post(f"{fake.openai_base_url}/chat/completions", json={**ASK, "stream": True},
                          timeout=10)
    assert "data: [DONE]" in streamed.text
    assert fake.admin.ledger()[-1]["fault"] == "none"
    assert [rule["faults"][0]["kind"] for rule in fake.admin.profile()["rules"]] == ["trickle"]


def test_a_client_that_leaves_mid_trickle_is_recorded_as_gone(fake: FakeLLM) -> None:
    fake.admin.script([trickle_rule(pieces=200, interval_ms=100)])  # about 20 s in all
    with httpx.stream("POST", f"{fake.openai_base_url}/chat/completions", json=ASK, timeout=10) as response:
        first = next(response.iter_raw())
    assert first and not first.endswith(b"}")
    started = time.monotonic()
    row = fake.admin.ledger()[-1]
    while row["finish_s"] is None and time.monotonic() - started < GENEROUS_S:
        time.sleep(0.05)
        row = fake.admin.ledger()[-1]
    assert row["client_gone"] is True
    assert row["finish_s"] is not None
    assert not row["usage_reported"]


@pytest.mark.parametrize(("fault", "needle"), [
    ({"kind": "trickle", "pieces": 1}, "pieces"),
    ({"kind": "trickle", "interval_ms": -1}, "interval_ms"),
])
def test_bad_trickles_are_refused_with_the_parameter_named(fake: FakeLLM, fault: dict[str, object],
                                                            needle: str) -> None:
    response = httpx.post(f"{fake.base_url}/_chaos/script", json={"rules": [{"fault": fault}]}, timeout=10)
    assert response.status_code == 400
    assert needle in response.text
