"""Every input a brief names, the fake LLM can produce, on each wire format the brief covers.

A clause that names an input the app must handle (a status, a header, a connection that breaks, a
stream that ends oddly, a disguise of JSON) lists it in ``inputs`` in its ``clauses.toml``, and the
wire formats it concerns in ``wires`` (default: the primary's, OpenAI). The vocabulary of inputs
is :mod:`tests.input_probes`: for each one, the fault script that makes it and what the raw HTTP
response must show. For every input and wire the clauses name, the test scripts the fake
in process through its admin API (as the graders do) and reads the raw response: the status, the
header, the fenced JSON in the content, the way the stream ends. A control run of the same request
without the fault proves the observation is not vacuous.

A clause whose text names a fault (:data:`TRIGGERS`: "retry-after", "HTML page", "cut short", a
transient status, ...) must list an input that produces it; an input outside the vocabulary, or on
a wire the fake cannot produce it on, fails with the clause and the problem named.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import pytest

from fake_llm.runner import FakeLLM
from graders.clauses import WIRES, Clause, load_clauses
from tests.input_probes import exchange, probe, vocabulary

# --- which clause must name which input ----------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Trigger:
    """Words of a clause that name an input: the clause must list one of the inputs ``accepts``
    takes (for a status in the text: ``http_error:<that status>``)."""

    name: str
    pattern: re.Pattern[str]
    accepts: Callable[[str, re.Match[str]], bool]


def _trigger(name: str, pattern: str, accepts: Callable[[str], bool]) -> Trigger:
    return Trigger(name, re.compile(pattern, re.IGNORECASE), lambda entry, match: accepts(entry))


def _one_of(*names: str) -> Callable[[str], bool]:
    return lambda entry: entry in names or any(entry.startswith(f"{n}:") for n in names)


TIMING = ("hang", "latency", "trickle", "slow_first_token", "stall", "drip")
TRIGGERS = (
    Trigger("a transient status by number", re.compile(r"\b(408|409|429|501|529)\b"),
            lambda entry, match: entry.startswith(f"http_error:{match[1]}")
            or (match[1] == "429" and entry == "rate_limit")),
    _trigger("an error status", r"\b(HTTP|error) status|\b4xx\b|status on neither list",
             lambda entry: entry.startswith("http_error:") or entry == "rate_limit"),
    _trigger("retry-after", r"retry-after", lambda entry: "+retry-after" in entry or entry == "rate_limit"),
    _trigger("retry-after-ms", r"retry-after-ms", lambda entry: entry.endswith("+retry-after-ms")),
    _trigger("x-should-retry: true", r"x-should-retry: true",
             lambda entry: entry.endswith("should-retry:true")),
    _trigger("x-should-retry: false", r"x-should-retry: false",
             lambda entry: entry.endswith("should-retry:false")),
    _trigger("a connection error", r"connection error|\breset\b|cannot be reached|closed before a response",
             _one_of("reset")),
    _trigger("a dropped connection", r"connection dropped|breaks after its 200",
             _one_of("stream:disconnect", "stream:break-before-text", "disconnect")),
    _trigger("an unreadable 200",
             r"HTML page|unreadable body|(?<!arguments that are )not JSON|empty body|"
             r"can't be read as a completion",
             _one_of("empty_body", "wrong_content_type")),
    _trigger("a code fence", r"code fence", _one_of("json_fences")),
    _trigger("prose around JSON", r"prose before or after", _one_of("json_prose_wrap")),
    _trigger("a trailing comma", r"trailing comma", _one_of("json_trailing_comma")),
    _trigger("single quotes", r"single-quoted", _one_of("json_single_quotes")),
    _trigger("a number written as a string", r"thousands separators|string of digits",
             _one_of("schema_drift:string-number")),
    _trigger("a reply cut at the length limit", r"cut short|length limit|\"length\"",
             _one_of("json_truncated", "length_limit", "stream:length", "stream:truncate")),
    _trigger("what arrived happens to parse", r"happens to parse", _one_of("length_limit:whole")),
    _trigger("a missing key", r"missing key", _one_of("schema_drift:missing-key")),
    _trigger("a float sample size", r"1024\.0", _one_of("schema_drift:float-number")),
    _trigger("a decimal string", r"\"1\.024\"", _one_of("schema_drift:decimal-string")),
    _trigger("an approximate number", r"about 1000", _one_of("schema_drift:approx-string")),
    _trigger("a boolean", r"`true` for", _one_of("schema_drift:boolean")),
    _trigger("a sample size below 1", r"below 1|neither is `0`",
             _one_of("schema_drift:zero", "schema_drift:negative")),
    _trigger("an unknown effect_direction", r"unknown or differently-cased",
             _one_of("schema_drift:effect-synonym")),
    _trigger("a differently-cased effect_direction", r"differently-cased",
             _one_of("schema_drift:effect-case")),
    _trigger("another paper", r"another paper", _one_of("schema_drift:other-paper")),
    _trigger("a refusal", r"refusal|refused (reply|summary)|\brefuses\b|empty or refused",
             _one_of("refusal", "stream:refusal")),
    _trigger("an empty reply", r"empty reply|empty or refused", _one_of("empty_content")),
    _trigger("a model that hangs or is slow",
             r"\bhang|never answers|waiting for the (model|provider)|\btime[sd]? ?out\b|\btimeout\b|"
             r"\bslow|first byte",
             _one_of(*TIMING)),
    _trigger("a silence mid-stream", r"goes quiet", _one_of("stall")),
    _trigger("an unparseable chunk", r"chunk that cannot be parsed", _one_of("stream:corrupt-chunk")),
    _trigger("an error mid-stream", r"error reported in the middle", _one_of("stream:error-event")),
    _trigger("no finish reason", r"without a finish reason",
             _one_of("stream:no-finish-reason", "stream:truncate")),
    _trigger("the end marker", r"\[DONE\]", _one_of("stream:stop-without-done")),
    _trigger("citation markers", r"\bmarkers?\b",
             _one_of("answer_text", "bad_citation", "tools:marker-not-fetched")),
    _trigger("an answer with no text", r"no text left", _one_of("tools:empty-answer", "empty_content")),
    # the review agent's tool calls
    _trigger("tool-call arguments that are not JSON", r"arguments that are not JSON",
             _one_of("tool_args_not_json")),
    _trigger("a missing argument", r"a missing or non-string|missing argument",
             _one_of("tool_args_schema:missing-key")),
    _trigger("an argument of the wrong type", r"non-string argument|or non-string",
             _one_of("tool_args_schema:wrong-type")),
    _trigger("an argument the schema lacks", r"unknown key", _one_of("tool_args_schema:extra-key")),
    _trigger("a tool never offered", r"tool name the app did not offer|unknown tool",
             _one_of("tool_unknown_name")),
    _trigger("a repeated call", r"same tool with the same arguments|repeated calls?",
             _one_of("tool_loop", "tool_parallel_calls")),
    _trigger("a model that calls tools without end", r"still asks for a tool", _one_of("tool_loop")),
    _trigger("the providers' usage names", r"prompt_tokens|input_tokens", _one_of("usage", "stream:usage")),
)

# (clause, trigger) pairs where the words do not name an input the fake must produce, with why.
NOT_INPUTS = {
    ("streaming.max-gap", "the end marker"): "lists what counts as a chunk, not a way to end",
    ("cost.total-is-sum", "the providers' usage names"): "names the app's own usage fields",
}


def _triggered(clause: Clause) -> Iterator[tuple[Trigger, re.Match[str]]]:
    for trigger in TRIGGERS:
        for match in trigger.pattern.finditer(clause.text):
            yield trigger, match


def coverage_problems(clauses: Mapping[str, Clause]) -> list[str]:
    """Each clause that names a fault without an input for it, or lists an input the vocabulary
    lacks or the fake cannot produce on a wire it names; one sentence each."""
    problems = []
    for clause in clauses.values():
        for entry in clause.inputs:
            try:
                found = probe(entry)
            except ValueError as error:
                problems.append(f"{clause.id}: {error}")
                continue
            missing = [wire for wire in clause.wires if wire not in found.wires]
            if missing:
                problems.append(f"{clause.id}: the fake cannot produce {entry!r} on the {', '.join(missing)} "
                                f"wire (only {', '.join(found.wires)})")
        for trigger, match in _triggered(clause):
            if (clause.id, trigger.name) in NOT_INPUTS:
                continue
            if not any(trigger.accepts(entry, match) for entry in clause.inputs):
                problems.append(f"{clause.id} names {trigger.name} ({match[0]!r}) but its `inputs` "
                                f"list none that produces it (has {list(clause.inputs)})")
    return sorted(set(problems))


def named_inputs() -> list[tuple[str, str]]:
    """Every (input, wire) pair some clause names, once."""
    pairs = set()
    for clause in load_clauses().values():
        for entry in clause.inputs:
            with_wires = probe(entry).wires
            pairs |= {(entry, wire) for wire in clause.wires if wire in with_wires}
    return sorted(pairs)


# --- the tests -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fake() -> Iterator[FakeLLM]:
    """A calm fake with no latency and no pause between stream chunks (a fault sets its own)."""
    with FakeLLM(profile="calm", seed=3, settings={"latency.median_ms": 0,
                                                  "stream.chunk_interval_ms": 0}) as server:
        yield server


def test_every_clause_that_names_an_input_lists_one_the_fake_produces() -> None:
    problems = coverage_problems(load_clauses())
    assert not problems, "clauses and their inputs:\n  " + "\n  ".join(problems)


def test_the_clauses_name_inputs() -> None:
    assert len(named_inputs()) >= 40


@pytest.mark.parametrize(("name", "wire"), named_inputs())
def test_the_fake_produces_the_input(fake: FakeLLM, name: str, wire: str) -> None:
    found = probe(name)
    fake.admin.reset()
    if found.faults:
        fake.admin.script([{"faults": list(found.faults), "times": 1}])
    raw = exchange(fake, wire, found.task, found.stream, found.read_s)
    problem = found.see(raw)
    assert problem is None, f"{name} on the {wire} wire: {problem}"
    if found.control:
        fake.admin.reset()
        healthy = exchange(fake, wire, found.task, found.stream)
        assert found.see(healthy) is not None, (
            f"{name} on the {wire} wire: a healthy response shows it too, so the probe proves nothing")


def test_a_clause_naming_a_fault_without_inputs_is_reported() -> None:
    bare = Clause("retries.x", "retries", "A 200 with an HTML page, then a 529 with retry-after.")
    problems = coverage_problems({bare.id: bare})
    assert any("an unreadable 200" in p for p in problems)
    assert any("'529'" in p for p in problems)
    assert any("retry-after" in p for p in problems)
    listed = Clause(bare.id, "retries", bare.text, ("wrong_content_type", "http_error:529+retry-after"),
                    ("openai",))
    assert coverage_problems({listed.id: listed}) == []


def test_an_unknown_input_or_a_wire_the_fake_lacks_is_reported() -> None:
    clauses = {
        "a": Clause("a.a", "a", "No fault words.", ("http_error:503+retry-after-ms",), WIRES),
        "b": Clause("b.b", "b", "No fault words.", ("stream:explodes",), ("openai",)),
        "c": Clause("c.c", "c", "No fault words.", ("http_error:503+sometimes",), ("openai",)),
    }
    problems = coverage_problems(clauses)
    assert any("a.a: the fake cannot produce 'http_error:503+retry-after-ms' on the anthropic" in p
               for p in problems)
    assert any("b.b: unknown input 'stream:explodes'" in p for p in problems)
    assert any("c.c: input 'http_error:503+sometimes': unknown modifier" in p for p in problems)
    with pytest.raises(ValueError, match="vocabulary is"):
        probe("schema_drift:made-up")


def test_a_clause_naming_malformed_tool_calls_without_inputs_is_reported() -> None:
    text = ("A malformed call is not run: arguments that are not JSON, arguments that break the tool's "
            "schema (a missing or non-string `query`, or an unknown key), or a tool name the app did "
            "not offer.")
    bare = Clause("agent.x", "agent", text)
    problems = coverage_problems({bare.id: bare})
    for named in ("tool-call arguments that are not JSON", "a missing argument",
                  "an argument of the wrong type", "an argument the schema lacks", "a tool never offered"):
        assert any(f"names {named} (" in p for p in problems), (named, problems)
    assert not any("an unreadable 200" in p for p in problems), "tool-call arguments are not a body"
    listed = Clause(bare.id, "agent", text, ("tool_args_not_json", "tool_args_schema:missing-key",
                                             "tool_args_schema:wrong-type", "tool_args_schema:extra-key",
                                             "tool_unknown_name"), ("openai",))
    assert coverage_problems({listed.id: listed}) == []


SEARCH_STEP_INPUTS = [name for name in vocabulary() if name.startswith("tool_")
                      and probe(name).task == "agent:search"]


@pytest.mark.parametrize("wire", WIRES)
def test_each_tool_call_probe_sees_its_own_fault_and_no_other(fake: FakeLLM, wire: str) -> None:
    """The first step of a review under each tool-call fault: each probe accepts the response to
    its own fault and rejects every other's, so a probe names its input, not any broken call."""
    assert len(SEARCH_STEP_INPUTS) >= 6
    on_wire = [name for name in SEARCH_STEP_INPUTS if wire in probe(name).wires]
    responses = {}
    for name in on_wire:
        fake.admin.reset()
        fake.admin.script([{"faults": list(probe(name).faults), "times": 1}])
        responses[name] = exchange(fake, wire, "agent:search", False)
    for name in on_wire:
        seen = {other for other, raw in responses.items() if probe(name).see(raw) is None}
        assert seen == {name}, f"{name} on the {wire} wire accepts the responses to {sorted(seen)}"
