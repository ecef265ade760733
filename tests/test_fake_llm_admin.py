"""The admin API: scripts, profile changes, ledger and reset behave as documented."""

from __future__ import annotations

import httpx
import pytest

from fake_llm.runner import FakeLLM

ASK = {"model": "sim-gpt-mini", "messages": [{"role": "user", "content": "Extract P0007 fields"}]}


def ask(fake: FakeLLM, **extra: object) -> httpx.Response:
    return httpx.post(f"{fake.openai_base_url}/chat/completions", json={**ASK, **extra}, timeout=10)


def admin(fake: FakeLLM, method: str, path: str, body: object = None) -> httpx.Response:
    return httpx.request(method, f"{fake.base_url}/_chaos{path}", json=body, timeout=10)


def test_scripted_rules_apply_in_order_and_are_used_up(fake):
    fake.admin.script([
        {"match": {"task": "extract"}, "fault": {"kind": "json_fences"}, "times": 1},
        {"fault": {"kind": "http_error", "status": 503}, "times": 2},
    ])
    faults = [ask(fake).headers.get("x-fake-llm-fault") for _ in range(4)]
    assert faults == ["json_fences", "http_error", "http_error", "none"]
    assert fake.admin.profile()["rules"] == []


def test_rules_match_only_requests_their_faults_fit(fake):
    fake.admin.script([{"fault": {"kind": "truncate"}, "times": 1}])
    assert ask(fake).headers["x-fake-llm-fault"] == "none"
    assert "data: [DONE]" in ask(fake, stream=True).text
    assert fake.admin.ledger()[-1]["fault"] == "truncate"


def test_until_removed_rules_and_delete(fake):
    fake.admin.script([{"match": {"paper_id": "P0007"}, "fault": {"kind": "http_error", "status": 500},
                        "times": None}])
    assert [ask(fake).status_code for _ in range(3)] == [500, 500, 500]
    fake.admin.clear_script()
    assert ask(fake).status_code == 200


def test_several_faults_in_one_rule_combine(fake):
    fake.admin.script([{"faults": [{"kind": "json_fences"}, {"kind": "json_trailing_comma"}]}])
    response = ask(fake)
    assert response.headers["x-fake-llm-fault"] == "json_trailing_comma+json_fences" or \
        response.headers["x-fake-llm-fault"] == "json_fences+json_trailing_comma"
    content = response.json()["choices"][0]["message"]["content"]
    assert content.startswith("```json") and ",}" in content


@pytest.mark.parametrize(("body", "needle"), [
    ({"rules": [{"fault": {"kind": "htp_error"}}]}, "unknown fault kind 'htp_error'"),
    ({"rules": [{"fault": {"kind": "http_error", "status": 99}}]}, "status"),
    ({"rules": [{"match": {"provider": "azure"}, "fault": {"kind": "reset"}}]}, "unknown provider"),
    ({"rules": [{"fault": {"kind": "reset"}, "times": 0}]}, "times"),
    ({"rules": [{"match": {}}]}, "exactly one of 'fault'"),
    ({"rule": []}, "expected {\"rules\""),
])
def test_bad_scripts_are_refused_with_the_problem_named(fake, body, needle):
    response = admin(fake, "POST", "/script", body)
    assert response.status_code == 400
    assert needle in response.json()["error"]["message"]


def test_put_profile_switches_level_and_settings(fake):
    body = {"profile": "stormy", "set": {"faults.reset.probability": 0}}
    view = admin(fake, "PUT", "/profile", body).json()
    assert view["name"] == "stormy" and view["knobs"]["faults"]["reset"]["probability"] == 0
    refused = admin(fake, "PUT", "/profile", {"set": {"latency.median_ms": -1}})
    assert refused.status_code == 400 and "latency.median_ms" in refused.json()["error"]["message"]
    assert fake.admin.profile()["name"] == "stormy"  # a refused change leaves the old one in force
    fake.admin.set_profile("calm", {"latency.median_ms": 0, "stream.chunk_interval_ms": 0})


def test_ledger_records_each_request_and_reset_clears_it(fake):
    ask(fake)
    ask(fake)
    rows = fake.admin.ledger()
    assert [r["attempt"] for r in rows] == [1, 2]
    assert rows[0]["fingerprint"] == rows[1]["fingerprint"]
    assert rows[0]["paper_ids"] == ["P0007"] and rows[0]["task"] == "extract"
    assert rows[0]["cost_usd"] > 0 and rows[0]["tokens_out"] > 0 and rows[0]["usage_reported"]
    fake.admin.reset()
    assert fake.admin.ledger() == []
    ask(fake)
    assert fake.admin.ledger()[0]["attempt"] == 1


def test_in_flight_count_at_arrival(fake):
    fake.admin.script([{"fault": {"kind": "latency", "delay_ms": 300}, "times": None}])
    with httpx.Client(timeout=10) as client:
        import concurrent.futures as cf

        with cf.ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda i: client.post(f"{fake.openai_base_url}/chat/completions",
                                                json={**ASK, "messages": [{"role": "user",
                                                                           "content": f"x{i}"}]}),
                          range(4)))
    assert max(r["in_flight"] for r in fake.admin.ledger()) >= 2


def test_a_server_with_an_admin_token_refuses_admin_requests_without_it():
    with FakeLLM(profile="calm", admin_token="s3cret") as fake:
        for method, path, body in [("GET", "/profile", None), ("GET", "/ledger", None),
                                   ("POST", "/script", {"rules": []}), ("DELETE", "/script", None),
                                   ("POST", "/reset", None), ("PUT", "/profile", {"seed": 1})]:
            refused = admin(fake, method, path, body)
            assert refused.status_code == 403, (method, path)
            assert "x-fake-llm-admin-token" in refused.json()["error"]["message"]
        wrong = httpx.get(f"{fake.base_url}/_chaos/profile", headers={"x-fake-llm-admin-token": "guess"})
        assert wrong.status_code == 403
        fake.admin.script([{"fault": {"kind": "http_error", "status": 503}, "times": 1}])  # has it
        assert ask(fake).status_code == 503  # the model endpoints want no token
        assert fake.admin.ledger()[-1]["status"] == 503


def test_the_ledger_after_the_last_row_is_empty_with_the_server_clock():
    """What the graders ask for to read the server's clock alone: rows after a huge id (2**62)."""
    with FakeLLM() as fake:
        snapshot = fake.admin.ledger_snapshot(since_id=2**62)
        assert snapshot["rows"] == [] and snapshot["now_s"] >= 0
