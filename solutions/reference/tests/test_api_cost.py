"""Usage is the sum over every call of a request; a request stops spending at its budget."""

from __future__ import annotations

import httpx
import pytest
from conftest import calls, script

from fake_llm.runner import FakeLLM


def ledger_usage(rows: list[dict[str, object]]) -> dict[str, int]:
    tokens_in = sum(int(row["tokens_in"]) for row in rows)  # type: ignore[call-overload]
    tokens_out = sum(int(row["tokens_out"]) for row in rows)  # type: ignore[call-overload]
    return {"input_tokens": tokens_in, "output_tokens": tokens_out,
            "total_tokens": tokens_in + tokens_out}


def test_usage_counts_every_generation(fake: FakeLLM, client: httpx.Client) -> None:
    script(fake, {"kind": "schema_drift", "variant": "missing_key"}, task="extract")
    body = client.post("/extractions", json={"paper_id": "P0042"}).json()
    rows = calls(fake)
    assert len(rows) == 2
    assert body["usage"] == ledger_usage(rows)


def test_usage_counts_both_providers(fake: FakeLLM, client: httpx.Client) -> None:
    script(fake, {"kind": "empty_content"}, provider="openai", task="summary")
    script(fake, {"kind": "http_error", "status": 503}, times=None, provider="openai")
    body = client.post("/summaries", json={"paper_id": "P0042"}).json()
    assert body["provider"] == "anthropic"
    assert body["usage"] == ledger_usage(calls(fake))
    assert ledger_usage(calls(fake, provider="openai"))["total_tokens"] > 0


def test_batch_usage_is_the_sum_of_its_items(fake: FakeLLM, client: httpx.Client) -> None:
    script(fake, {"kind": "refusal"}, paper_id="P0002")
    body = client.post("/summaries/batch", json={"paper_ids": ["P0001", "P0002", "P0003"]}).json()
    assert len(calls(fake)) == 4
    assert body["usage"] == ledger_usage(calls(fake))


def test_no_re_ask_once_the_budget_is_spent(fake: FakeLLM, client: httpx.Client) -> None:
    script(fake, {"kind": "json_truncated"}, times=None, task="extract")
    response = client.post("/extractions", json={"paper_id": "P0042", "token_budget": 100})
    assert (response.status_code, response.json()["error"]["code"]) == (402, "budget_exceeded")
    (row,) = calls(fake)
    assert row["tokens_in"] + row["tokens_out"] >= 100


def test_the_budget_applies_per_batch_item(fake: FakeLLM, client: httpx.Client) -> None:
    script(fake, {"kind": "empty_content"}, times=None, paper_id="P0002")
    body = client.post(
        "/summaries/batch", json={"paper_ids": ["P0001", "P0002"], "token_budget": 60}
    ).json()
    assert [item["status"] for item in body["items"]] == ["ok", "error"]
    assert body["items"][1]["error"]["code"] == "budget_exceeded"
    assert len(calls(fake, paper_ids=["P0002"])) == 1


@pytest.mark.parametrize("budget", [0, -5, "500", 12.5, True])
def test_a_token_budget_must_be_a_positive_whole_number(
    fake: FakeLLM, client: httpx.Client, budget: object
) -> None:
    response = client.post("/summaries", json={"paper_id": "P0042", "token_budget": budget})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "bad_request")
    assert calls(fake) == []
