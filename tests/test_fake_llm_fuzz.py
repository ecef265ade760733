"""Whatever a client sends, every route answers below 500, and every 4xx is in its route's error
shape: OpenAI's, Anthropic's, or the admin API's ``{"error": {"message"}}``."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fake_llm.faults import fault_kinds
from fake_llm.profiles import LEVELS
from fake_llm.runner import FakeLLM

FAST = {"latency.median_ms": 0, "stream.chunk_interval_ms": 0}

# (method, path, error shape): every route of the server, and a few it does not have.
ROUTES = [
    ("POST", "/v1/chat/completions", "openai"),
    ("GET", "/v1/models", "openai"),
    ("POST", "/v1/models", "openai"),
    ("POST", "/v1/completions", "openai"),
    ("POST", "/anthropic/v1/messages", "anthropic"),
    ("GET", "/anthropic/v1/messages", "anthropic"),
    ("POST", "/anthropic/v1/complete", "anthropic"),
    ("GET", "/health", "admin"),
    ("GET", "/_chaos/profile", "admin"),
    ("PUT", "/_chaos/profile", "admin"),
    ("GET", "/_chaos/script", "admin"),
    ("POST", "/_chaos/script", "admin"),
    ("DELETE", "/_chaos/script", "admin"),
    ("GET", "/_chaos/ledger", "admin"),
    ("POST", "/_chaos/reset", "admin"),
    ("PATCH", "/_chaos/nothing", "admin"),
]
TOKEN = "fuzz-token"
# Deterministic: the same examples on every run, so a red run is reproducible and a green one stays
# green.
FUZZ = {"deadline": None, "derandomize": True, "database": None,
        "suppress_health_check": [HealthCheck.function_scoped_fixture]}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children,
                                                                       max_size=4),
    max_leaves=12)
knob_names = st.sampled_from(["latency.median_ms", "latency.delay_ms", "stream.chunk_chars",
                              "rate_limit.max_in_flight", "faults.reset.probability",
                              "faults.http_error.statuses", "models.sim-gpt-large.latency.sigma",
                              "faults", "latency", "", "a..b"]) | st.text(max_size=20)
profile_bodies = st.fixed_dictionaries({}, optional={
    "profile": st.sampled_from([*LEVELS, "nope", "/", "/dev/zero", "x.toml"]) | json_values,
    "knobs": json_values | st.dictionaries(st.sampled_from(["latency", "faults", "stream"]), json_values),
    "set": st.dictionaries(knob_names, json_values, max_size=3) | json_values,
    "seed": st.integers() | json_values,
})
fault_specs = st.fixed_dictionaries(
    {"kind": st.sampled_from(sorted(fault_kinds())) | json_values},
    optional={name: json_values for name in ("status", "delay_ms", "after_chunks", "keep_fraction",
                                             "retry_after_ms", "statuses", "variant")})
rules = st.fixed_dictionaries({}, optional={
    "match": st.dictionaries(st.sampled_from(["provider", "model", "task", "paper_id", "stream", "x"]),
                             json_values, max_size=3) | json_values,
    "fault": fault_specs | json_values,
    "faults": st.lists(fault_specs, max_size=2) | json_values,
    "times": st.integers(-2, 3) | json_values,
})
script_bodies = st.fixed_dictionaries({"rules": st.lists(rules, max_size=3) | json_values})
provider_bodies = st.fixed_dictionaries({}, optional={
    "model": st.sampled_from(["sim-gpt-large", "sim-claude-mini", "nope"]) | json_values,
    "messages": st.lists(st.fixed_dictionaries({"role": st.sampled_from(["user", "x"]) | json_values,
                                                "content": st.text(max_size=30) | json_values}),
                         max_size=3) | json_values,
    "max_tokens": st.integers(-2, 50) | json_values, "stream": st.booleans() | json_values,
    "stream_options": json_values, "system": json_values, "tools": json_values,
})
bodies = (st.binary(max_size=300)
          | json_values.map(lambda value: json.dumps(value).encode())
          | st.one_of(profile_bodies, script_bodies, provider_bodies).map(
              lambda value: json.dumps(value).encode()))


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeLLM]:
    """A calm fake with an admin token, as the graders run it."""
    with FakeLLM(profile="calm", seed=11, settings=FAST, admin_token=TOKEN, grading=True) as server:
        yield server


@pytest.fixture(scope="module")
def client(fake: FakeLLM) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake.base_url, timeout=10,
                      headers={"x-fake-llm-admin-token": TOKEN}) as http:
        yield http


def check_shape(response: httpx.Response, shape: str) -> None:
    """Below 500; a 4xx carries the route's error body."""
    assert response.status_code < 500, response.text
    if response.status_code < 400:
        return
    body = response.json()
    if shape == "openai":
        assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    elif shape == "anthropic":
        assert body["type"] == "error" and set(body["error"]) == {"type", "message"}
    else:
        assert set(body) == {"error"} and set(body["error"]) == {"message"}
    assert body["error"]["message"], body


def restore(fake: FakeLLM) -> None:
    """Undo what a fuzzed admin request may have changed."""
    fake.admin.set_profile("calm", settings=FAST, seed=11)
    fake.admin.clear_script()


@settings(max_examples=500, **FUZZ)
@given(route=st.sampled_from(ROUTES), body=bodies,
       content_type=st.sampled_from(["application/json", "text/plain", None]))
def test_any_body_on_any_route_gets_a_4xx_in_its_shape_or_an_answer(fake, client, route, body,
                                                                    content_type):
    method, path, shape = route
    headers = {"content-type": content_type} if content_type else {}
    try:
        check_shape(client.request(method, path, content=body, headers=headers), shape)
    finally:
        if method in ("PUT", "POST") and path.startswith("/_chaos"):
            restore(fake)


@settings(max_examples=250, **FUZZ)
@given(path=st.sampled_from(["/_chaos/profile", "/_chaos/script"]),
       body=st.one_of(profile_bodies, script_bodies))
def test_generated_admin_bodies_are_applied_or_refused_in_shape(fake, client, path, body):
    method = "PUT" if path.endswith("profile") else "POST"
    try:
        response = client.request(method, path, content=json.dumps(body).encode())
        check_shape(response, "admin")
        assert response.status_code in (200, 400), response.text
    finally:
        restore(fake)


@settings(max_examples=80, **FUZZ)
@given(since_id=st.text(max_size=30))
def test_any_ledger_query_is_answered_in_shape(client, since_id):
    check_shape(client.get("/_chaos/ledger", params={"since_id": since_id}), "admin")
