"""The official openai SDK against the fake: the Responses API (create, create with stream, the
stream helper) and embeddings (float and base64), faults and retries included."""

from __future__ import annotations

import math
from collections.abc import Iterator

import openai
import pytest

from fake_llm.corpus import get_paper
from fake_llm.runner import FakeLLM

pytestmark = pytest.mark.compat

SUMMARY = "Summarize paper P0042."


@pytest.fixture
def client(fake: FakeLLM) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=fake.openai_base_url, api_key="test-key", max_retries=0) as sdk:
        yield sdk


def test_responses_create_returns_ground_truth_and_usage(fake, client):
    response = client.responses.create(model="sim-gpt-large", input=SUMMARY, instructions="Be exact.")
    assert response.status == "completed"
    assert response.output_text == get_paper("P0042").summary()
    [row] = fake.admin.ledger()
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == (row["tokens_in"],
                                                                           row["tokens_out"])


def test_responses_create_with_messages_and_a_token_cap(client):
    response = client.responses.create(
        model="sim-gpt-mini", max_output_tokens=20,
        input=[{"role": "system", "content": "You summarise papers."},
               {"role": "user", "content": [{"type": "input_text", "text": SUMMARY}]}])
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    assert get_paper("P0042").summary().startswith(response.output_text)


def test_responses_stream_helper_accumulates_the_final_response(client):
    deltas = []
    with client.responses.stream(model="sim-gpt-large", input=SUMMARY) as stream:
        for event in stream:
            if event.type == "response.output_text.delta":
                deltas.append(event.delta)
        final = stream.get_final_response()
    assert len(deltas) > 1 and "".join(deltas) == final.output_text == get_paper("P0042").summary()
    assert final.usage is not None and final.usage.output_tokens > 0


def test_responses_create_stream_yields_typed_events(client):
    events = list(client.responses.create(model="sim-gpt-large", input=SUMMARY, stream=True))
    assert isinstance(events[0], openai.types.responses.ResponseCreatedEvent)
    assert isinstance(events[-1], openai.types.responses.ResponseCompletedEvent)
    assert [e.sequence_number for e in events] == list(range(len(events)))


def test_a_mid_stream_fault_arrives_as_error_and_response_failed_events(fake, client):
    fake.admin.script([{"fault": {"kind": "error_event", "after_chunks": 2}, "times": 1}])
    with client.responses.stream(model="sim-gpt-large", input=SUMMARY) as stream:
        kinds = [event.type for event in stream]
        assert kinds[-2:] == ["error", "response.failed"]
        with pytest.raises(RuntimeError):
            stream.get_final_response()  # the helper wants a response.completed that never came


def test_the_sdk_retries_a_scripted_503_and_the_ledger_sees_both_attempts(fake):
    fake.admin.script([{"fault": {"kind": "http_error", "status": 503}, "times": 1}])
    with openai.OpenAI(base_url=fake.openai_base_url, api_key="k", max_retries=2) as sdk:
        assert sdk.responses.create(model="sim-gpt-large", input=SUMMARY).output_text
    rows = fake.admin.ledger()
    assert [(r["status"], r["attempt"], r["retry_count"]) for r in rows] == [(503, 1, 0), (200, 2, 1)]


def test_an_unemulated_feature_is_a_bad_request_naming_it(client):
    with pytest.raises(openai.BadRequestError) as error:
        client.responses.create(model="sim-gpt-large", input=SUMMARY, previous_response_id="resp_1")
    assert "conversation state" in error.value.message
    with pytest.raises(openai.BadRequestError) as error:
        client.chat.completions.create(model="sim-gpt-large", n=3,
                                       messages=[{"role": "user", "content": SUMMARY}])
    assert error.value.param == "n"  # type: ignore[attr-defined]


def test_embeddings_float_and_base64_agree(client):
    texts = ["sleep quality in night-shift nurses", "crop yield of smallholder farmers"]
    floats = client.embeddings.create(model="sim-embed-small", input=texts, encoding_format="float")
    packed = client.embeddings.create(model="sim-embed-small", input=texts)  # the SDK asks for base64
    assert floats.usage.prompt_tokens == packed.usage.prompt_tokens > 0
    for plain, decoded in zip(floats.data, packed.data, strict=True):
        assert isinstance(plain.embedding, list) and len(plain.embedding) == 512
        assert all(math.isclose(a, b, abs_tol=1e-6)
                   for a, b in zip(plain.embedding, decoded.embedding, strict=True))


def test_embeddings_find_the_paper_a_question_is_about(client):
    papers = [get_paper(pid) for pid in ("P0003", "P0042", "P0101", "P0200")]
    docs = client.embeddings.create(model="sim-embed-large", dimensions=256, encoding_format="float",
                                    input=[f"{p.title}\n{p.abstract}" for p in papers]).data
    target = papers[2]
    question = client.embeddings.create(
        model="sim-embed-large", dimensions=256, encoding_format="float",
        input=f"Did {target.intervention} change {target.outcome} in {target.population}?").data[0]
    scores = [sum(a * b for a, b in zip(question.embedding, d.embedding, strict=True)) for d in docs]
    assert max(range(len(papers)), key=scores.__getitem__) == 2
