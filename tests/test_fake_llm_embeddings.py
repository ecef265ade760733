"""Embeddings (``POST /v1/embeddings``): deterministic unit vectors that find the right paper, with
usage, a ledger row, and HTTP and transport faults (content faults do not apply)."""

from __future__ import annotations

import base64
import math
import random
import struct
from collections import Counter
from typing import Any

import httpx
import pytest

from fake_llm.corpus import Paper, corpus
from fake_llm.embeddings import cosine, embed
from fake_llm.pricing import MODELS
from fake_llm.runner import FakeLLM


def post(fake: FakeLLM, **body: Any) -> httpx.Response:
    body = {"model": "sim-embed-small", **body}
    return httpx.post(f"{fake.openai_base_url}/embeddings", json=body, timeout=30.0,
                      headers={"authorization": "Bearer k"})


def vectors(fake: FakeLLM, texts: list[str]) -> list[list[float]]:
    data = post(fake, input=texts).json()["data"]
    assert [item["index"] for item in data] == list(range(len(texts)))
    return [item["embedding"] for item in data]


def ranking(question: list[float], papers: dict[str, list[float]]) -> list[str]:
    return sorted(papers, key=lambda pid: -cosine(question, papers[pid]))


@pytest.fixture(scope="module")
def paper_vectors(fake: FakeLLM) -> dict[str, list[float]]:
    """Every corpus paper's embedding (title and abstract), from the server in one request."""
    papers = list(corpus().values())
    found = vectors(fake, [f"{p.title}\n{p.abstract}" for p in papers])
    return {p.paper_id: v for p, v in zip(papers, found, strict=True)}


SAMPLE = random.Random(5).sample(sorted(corpus()), 30)


def test_a_question_about_a_papers_population_intervention_and_outcome_finds_it_first_three(
        fake, paper_vectors):
    papers = [corpus()[pid] for pid in SAMPLE]
    questions = vectors(fake, [f"Did {p.intervention} change {p.outcome} in {p.population}?"
                               for p in papers])
    for paper, question in zip(papers, questions, strict=True):
        assert paper.paper_id in ranking(question, paper_vectors)[:3], paper.paper_id


def test_a_question_about_intervention_and_outcome_ranks_only_twins_above_the_paper(fake, paper_vectors):
    """Up to four papers share an intervention and an outcome; at most two other papers (in practice
    only such twins) may rank above the one asked about, so it is always in the first three."""
    def combo(p: Paper) -> tuple[str, str]:
        return p.intervention, p.outcome

    twins = Counter(combo(p) for p in corpus().values())
    papers = [corpus()[pid] for pid in SAMPLE]
    questions = vectors(fake, [f"What was the effect of {p.intervention} on {p.outcome}?"
                               for p in papers])
    for paper, question in zip(papers, questions, strict=True):
        ranked = ranking(question, paper_vectors)
        above = ranked[: ranked.index(paper.paper_id)]
        strangers = [pid for pid in above if combo(corpus()[pid]) != combo(paper)]
        assert len(above) < max(3, twins[combo(paper)]) and len(strangers) <= 1, (paper.paper_id, above)


def test_vectors_are_deterministic_unit_length_and_distinguish_texts(fake):
    first, again, other = vectors(fake, ["sleep quality in nurses", "sleep quality in nurses",
                                         "crop yield of farmers"])
    assert first == again == embed("sleep quality in nurses", MODELS["sim-embed-small"].dimensions)
    assert len(first) == 512 and math.isclose(sum(x * x for x in first), 1.0)
    assert cosine(first, other) < 0.2 < cosine(first, vectors(fake, ["nurses and their sleep quality"])[0])


def test_base64_is_little_endian_float32_of_the_same_vector(fake):
    plain = post(fake, input="reading fluency", encoding_format="float").json()["data"][0]["embedding"]
    encoded = post(fake, input="reading fluency", encoding_format="base64").json()["data"][0]["embedding"]
    raw = base64.b64decode(encoded)
    decoded = struct.unpack(f"<{len(raw) // 4}f", raw)
    assert len(decoded) == len(plain) and all(math.isclose(a, b, abs_tol=1e-6)
                                              for a, b in zip(decoded, plain, strict=True))


def test_dimensions_shorten_the_vector_and_the_large_model_is_longer(fake):
    short = post(fake, input="blood pressure", dimensions=64).json()["data"][0]["embedding"]
    assert len(short) == 64 and math.isclose(sum(x * x for x in short), 1.0)
    large = post(fake, model="sim-embed-large", input="blood pressure").json()["data"][0]["embedding"]
    assert len(large) == 1536


def test_usage_is_input_tokens_only_and_the_ledger_bills_them(fake):
    body = post(fake, input=["one text", "and another text"]).json()
    [row] = fake.admin.ledger()
    assert body["usage"]["prompt_tokens"] == body["usage"]["total_tokens"] == row["tokens_in"] > 0
    assert (row["task"], row["tokens_out"], row["model"]) == ("embed", 0, "sim-embed-small")
    assert row["cost_usd"] == pytest.approx(row["tokens_in"] * 0.02 / 1e6)


@pytest.mark.parametrize(("fault", "status"), [({"kind": "http_error", "status": 429}, 429),
                                               ({"kind": "http_error", "status": 503}, 503),
                                               ({"kind": "wrong_content_type"}, 200),
                                               ({"kind": "empty_body"}, 200)])
def test_http_and_transport_faults_apply(fake, fault, status):
    fake.admin.script([{"match": {"task": "embed"}, "fault": fault, "times": 1}])
    response = post(fake, input="x y z")
    assert response.status_code == status
    assert fake.admin.ledger()[0]["fault"] == fault["kind"]
    if fault["kind"] == "empty_body":
        assert response.content == b""
    if fault["kind"] == "wrong_content_type":
        assert response.headers["content-type"].startswith("text/html")


def test_a_reset_is_a_connection_error(fake):
    fake.admin.script([{"match": {"task": "embed"}, "fault": {"kind": "reset"}, "times": 1}])
    with pytest.raises(httpx.TransportError):
        post(fake, input="x")


def test_content_faults_never_apply_to_embeddings(fake):
    """A rule of content faults waits for a request they fit: embeddings pass it by."""
    fake.admin.script([{"fault": {"kind": "refusal"}, "times": 1},
                       {"fault": {"kind": "schema_drift"}, "times": 1}])
    assert post(fake, input="Summarize paper P0042.").status_code == 200
    assert fake.admin.ledger()[0]["fault"] == "none"
    assert len(fake.admin.script([])) == 2


def test_a_profile_draws_no_content_fault_for_embeddings():
    settings = {"latency.median_ms": 0, "faults.refusal.probability": 1.0}
    with FakeLLM(profile="calm", seed=3, settings=settings) as server:
        assert post(server, input="Extract paper P0042.").status_code == 200
        assert server.admin.ledger()[0]["fault"] == "none"


@pytest.mark.parametrize(("body", "param", "code"), [
    ({"input": None}, "input", "missing_required_parameter"),
    ({"input": []}, "input", "invalid_value"),
    ({"input": [""]}, "input", "invalid_value"),
    ({"input": [[1, 2, 3]]}, "input", "unsupported_value"),
    ({"input": "x", "dimensions": 0}, "dimensions", "invalid_value"),
    ({"input": "x", "dimensions": 513}, "dimensions", "invalid_value"),
    ({"input": "x", "encoding_format": "int8"}, "encoding_format", "invalid_value"),
    ({"input": "x", "model": "sim-gpt-large"}, "model", "invalid_value"),
    ({"input": "x", "stream": True}, "stream", "unknown_parameter"),
])
def test_bad_requests_get_a_400_naming_the_parameter(fake, body, param, code):
    response = post(fake, **body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["param"], error["code"]) == (param, code)


def test_chat_completions_refuse_an_embedding_model(fake):
    response = httpx.post(f"{fake.openai_base_url}/chat/completions", timeout=10.0,
                          json={"model": "sim-embed-small", "messages": [{"role": "user", "content": "x"}]})
    assert response.status_code == 404 and "not a chat model" in response.json()["error"]["message"]
