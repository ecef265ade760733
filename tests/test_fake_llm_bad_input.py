"""Bad requests get the provider's own 400/404 shape, never a 500; hypothesis hunts for 500s."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

OPENAI = "/v1/chat/completions"
ANTHROPIC = "/anthropic/v1/messages"
MSG = [{"role": "user", "content": "hi"}]


def post(fake, path: str, content: bytes) -> httpx.Response:
    return httpx.post(fake.base_url + path, content=content,
                      headers={"content-type": "application/json"}, timeout=10)


def openai_error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


def anthropic_error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status
    body = response.json()
    assert body["type"] == "error" and set(body["error"]) == {"type", "message"}
    return body["error"]


@pytest.mark.parametrize(("body", "status", "param", "code"), [
    (b"{not json", 400, None, None),
    (b"[1, 2]", 400, None, None),
    (json.dumps({"model": "sim-gpt-large"}).encode(), 400, "messages", "missing_required_parameter"),
    (json.dumps({"model": "sim-gpt-large", "messages": []}).encode(), 400, "messages", "empty_array"),
    (json.dumps({"model": "sim-gpt-large", "messages": [{"role": "robot", "content": "x"}]}).encode(),
     400, "messages[0].role", "invalid_value"),
    (json.dumps({"model": "sim-gpt-large", "messages": [{"role": "user", "content": 5}]}).encode(),
     400, "messages[0].content", "invalid_type"),
    (json.dumps({"model": "gpt-nope", "messages": MSG}).encode(), 404, None, "model_not_found"),
    (json.dumps({"messages": MSG}).encode(), 400, "model", None),
    (json.dumps({"model": "sim-gpt-large", "messages": MSG, "max_tokens": "9"}).encode(),
     400, "max_tokens", "invalid_type"),
])
def test_openai_bad_requests(fake, body, status, param, code):
    error = openai_error(post(fake, OPENAI, body), status)
    assert error["param"] == param and error["code"] == code
    assert error["type"] == "invalid_request_error"


@pytest.mark.parametrize(("body", "status", "needle"), [
    (b"{not json", 400, "JSON"),
    (json.dumps({"model": "sim-claude-large", "max_tokens": 5}).encode(), 400, "messages"),
    (json.dumps({"model": "sim-claude-large", "messages": MSG}).encode(), 400, "max_tokens"),
    (json.dumps({"model": "sim-claude-large", "max_tokens": 5, "messages": []}).encode(), 400, "messages"),
    (json.dumps({"model": "claude-nope", "max_tokens": 5, "messages": MSG}).encode(), 404, "claude-nope"),
    (json.dumps({"model": "sim-claude-large", "max_tokens": 5,
                 "messages": [{"role": "system", "content": "x"}]}).encode(), 400, "role"),
])
def test_anthropic_bad_requests(fake, body, status, needle):
    error = anthropic_error(post(fake, ANTHROPIC, body), status)
    assert needle in error["message"]
    assert error["type"] == ("not_found_error" if status == 404 else "invalid_request_error")


def test_unknown_paths_answer_in_provider_shape(fake):
    openai_error(httpx.get(fake.base_url + "/v1/nothing"), 404)
    anthropic_error(httpx.get(fake.base_url + "/anthropic/v1/nothing"), 404)


def test_bad_requests_are_not_counted_as_attempts(fake):
    post(fake, OPENAI, b"{}")
    assert fake.admin.ledger() == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children,
                                                                       max_size=3),
    max_leaves=8)
messages = st.lists(st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "assistant", "system", "x"]),
     "content": st.one_of(st.text(max_size=40), json_values)}), max_size=3)
bodies = st.fixed_dictionaries(
    {},
    optional={"model": st.sampled_from(["sim-gpt-large", "sim-claude-mini", "nope"]) | json_values,
              "messages": messages | json_values, "max_tokens": st.integers(-2, 50) | json_values,
              "stream": st.booleans() | json_values, "system": st.text(max_size=20) | json_values,
              "stream_options": st.just({"include_usage": True}) | json_values,
              "temperature": json_values})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies, path=st.sampled_from([OPENAI, ANTHROPIC]))
def test_generated_bodies_never_get_a_500(fake, body, path):
    response = post(fake, path, json.dumps(body).encode())
    assert response.status_code in (200, 400, 404), response.text
