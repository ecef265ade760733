"""The vocabulary of inputs the briefs name, each with the fault script that makes the fake LLM
produce it and what the raw HTTP response must then show (tests/test_input_coverage.py).

An entry is a name (``reset``, ``json_fences``, ``stream:stop-without-done``,
``schema_drift:string-number``, ``tool_args_schema:extra-key``) or an error status with optional
header modifiers (``http_error:503``, ``http_error:429+retry-after``,
``http_error:400+should-retry:true``). The tool-call inputs (``tool_*``, ``tools:*``) are steps of
the review agent's conversation (tests/agent_conversation.py): the model's calls, or its answer.
:func:`probe` turns a name into a :class:`Probe`; :func:`exchange` sends one request and reads the
response raw (the status, the headers, the body bytes, where the connection broke), so that a
probe judges what a client really receives, on either wire format.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from fake_llm.corpus import get_paper
from fake_llm.runner import FakeLLM
from graders.clauses import WIRES
from tests import agent_conversation as agent
from tests.agent_conversation import Call

PAPER = "P0019"  # its sample size is over 1,000, so it can be written with a separator
SOURCES = ("P0042", "P0043")  # the sources of an answer
MODELS = {"openai": "sim-gpt-large", "anthropic": "sim-claude-large"}
PROMPTS = {
    "summary": f"Summarize paper {PAPER} in three sentences.",
    "extract": f"Extract the trial details of paper {PAPER} as JSON.",
    "answer": "Answer the question from the numbered sources, citing them as [n].\n"
              + "\n".join(f"[{n}] {pid}: a trial" for n, pid in enumerate(SOURCES, start=1))
              + "\nQuestion: what did these trials find?",
}
AGENT_TASKS = ("agent:search", "agent:fetch", "agent:answer")  # see exchange()
AGENT_STEPS = 4  # the most steps a probe's review takes from its search to an answer (it needs 2)
READ_LIMIT_S = 10.0  # a cap against a hang of the test itself; a healthy exchange takes ms
HANG_READ_S = 0.5  # how long the client waits on a hanging fake before it calls it a hang
ANSWER_TEXT = "Trials agree [1]  and disagree [12].\nSee also [0] and [2]."
_PAPER = get_paper(PAPER)
assert _PAPER is not None
SUMMARY, TRUTH = _PAPER.summary(), _PAPER.truth()
EFFECTS = ("increase", "decrease", "no_effect")
_OPENAI_REASON = {"end_turn": "stop", "max_tokens": "length"}  # Anthropic's words, in OpenAI's
USAGE_NAMES = {"openai": {"prompt_tokens", "completion_tokens"},
               "anthropic": {"input_tokens", "output_tokens"}}


# --- one raw exchange ----------------------------------------------------------------------------

@dataclass(slots=True)
class Stream:
    """A streamed answer as a client reads it: its text and how many frames carried text, the
    finish reasons (in OpenAI's words), whether the end marker ([DONE]; Anthropic message_stop)
    came last, an error event, a frame that does not parse, the usage names, a refusal."""

    text: str = ""
    pieces: int = 0
    finishes: list[str] = field(default_factory=list)
    marker: bool = False
    error_event: bool = False
    unparseable: bool = False
    usage_names: set[str] = field(default_factory=set)
    refused: bool = False

    @classmethod
    def read(cls, wire: str, raw: str) -> Stream:
        seen = cls()
        blocks = [block for block in raw.split("\n\n") if block.strip()]
        for index, block in enumerate(blocks):
            lines = block.split("\n")
            event = next((line[7:] for line in lines if line.startswith("event: ")), None)
            data = next((line[6:] for line in lines if line.startswith("data: ")), "")
            last = index == len(blocks) - 1
            if data == "[DONE]":
                seen.marker = last
                continue
            try:
                payload = json.loads(data)
            except ValueError:
                payload = None
            if not isinstance(payload, dict):
                seen.unparseable = True
            elif wire == "openai":
                seen._openai(payload)
            else:
                seen._anthropic(event, payload, last)
        return seen

    def _openai(self, chunk: dict[str, Any]) -> None:
        self.error_event = self.error_event or "error" in chunk
        if isinstance(chunk.get("usage"), dict):
            self.usage_names |= set(chunk["usage"])
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            self.text += delta.get("content") or ""
            self.pieces += bool(delta.get("content") or delta.get("refusal"))
            self.refused = self.refused or bool(delta.get("refusal"))
            if choice.get("finish_reason") is not None:
                self.finishes.append(choice["finish_reason"])

    def _anthropic(self, event: str | None, payload: dict[str, Any], last: bool) -> None:
        if event == "error":
            self.error_event = True
        elif event == "message_start":
            self.usage_names |= set((payload.get("message") or {}).get("usage") or {})
        elif event == "content_block_delta":
            self.text += (payload.get("delta") or {}).get("text", "")
            self.pieces += 1
        elif event == "message_delta":
            reason = (payload.get("delta") or {}).get("stop_reason")
            self.usage_names |= set(payload.get("usage") or {})
            self.refused = self.refused or reason == "refusal"
            if reason is not None:
                self.finishes.append(_OPENAI_REASON.get(reason, reason))
        elif event == "message_stop":
            self.marker = last


@dataclass(slots=True)
class Raw:
    """What the client received: the status and headers (None: no response at all), the body
    bytes, the transport error that broke the exchange (if one did), and times from sending: to
    the headers, to the first body bytes, to the end."""

    wire: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    broken: str | None = None
    head_s: float | None = None
    first_body_s: float | None = None
    end_s: float = 0.0
    fetched: tuple[str, ...] = ()  # an agent:answer review: the papers its well-formed fetches got

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def plain(self) -> tuple[str | None, str | None, bool]:
        """A plain completion's (text, finish reason in OpenAI's words, refused)."""
        body = self.json()
        if not isinstance(body, dict):
            return None, None, False
        if self.wire == "openai":
            choice = (body.get("choices") or [{}])[0]
            message = choice.get("message") or {}
            return message.get("content"), choice.get("finish_reason"), bool(message.get("refusal"))
        text = "".join(block.get("text", "") for block in body.get("content") or [])
        reason = body.get("stop_reason")
        return text, _OPENAI_REASON.get(reason, reason), reason == "refusal"

    def calls(self) -> list[Call]:
        """A plain reply's tool calls, in order (none for a text answer)."""
        return agent.calls_of(self.wire, self.json())

    def usage_names(self) -> set[str]:
        body = self.json()
        usage = body.get("usage") if isinstance(body, dict) else None
        return set(usage) if isinstance(usage, dict) else set()

    def stream(self) -> Stream:
        return Stream.read(self.wire, self.body.decode("utf-8", "replace"))


def exchange(fake: FakeLLM, wire: str, task: str, stream: bool, read_s: float = READ_LIMIT_S) -> Raw:
    """One request of ``task`` to the fake on ``wire``, read raw, whatever happens to it.

    ``task`` is a prompt of :data:`PROMPTS`, or a step of the review agent (plain only):
    ``agent:search`` the question with the agent's tools (the model searches), ``agent:fetch`` the
    step after a search listed two papers (the model fetches them), ``agent:answer`` every step from
    there to the model's answer (:func:`_review`)."""
    if task in AGENT_TASKS and stream:
        raise ValueError(f"task {task!r}: the agent's steps are plain requests, not streams")
    if task == "agent:answer":
        return _review(fake, wire, read_s)
    if task in AGENT_TASKS:
        return _send(fake, wire, agent.opening(wire, after_search=task == "agent:fetch"), False, read_s,
                     with_tools=True)
    if task not in PROMPTS:
        raise ValueError(f"unknown task {task!r}: one of {', '.join([*PROMPTS, *AGENT_TASKS])}")
    return _send(fake, wire, [{"role": "user", "content": PROMPTS[task]}], stream, read_s)


def _review(fake: FakeLLM, wire: str, read_s: float) -> Raw:
    """The review's steps from its search on, until the model answers in text (at most
    :data:`AGENT_STEPS`), each call answered by :func:`agent.result_of` (a well-formed call run, any
    other not): the last step's response, with the papers the review fetched."""
    messages = agent.opening(wire, after_search=True)
    fetched: list[str] = []
    for _ in range(AGENT_STEPS):
        raw = _send(fake, wire, messages, False, read_s, with_tools=True)
        calls = raw.calls()
        if raw.status != 200 or raw.broken or not calls:
            break
        answered = [agent.result_of(call) for call in calls]
        fetched += [paper_id for _, paper_id in answered if paper_id is not None]
        messages = [*messages, *agent.turn(wire, calls, [text for text, _ in answered])]
    raw.fetched = tuple(dict.fromkeys(fetched))
    return raw


def _send(fake: FakeLLM, wire: str, messages: list[dict[str, Any]], stream: bool, read_s: float,
          with_tools: bool = False) -> Raw:
    """POST ``messages`` (with the agent's tools if ``with_tools``) and read the response raw."""
    body: dict[str, Any] = {"model": MODELS[wire], "stream": stream, "messages": messages}
    if with_tools:
        body["tools"] = agent.tools(wire)
    if wire == "openai":
        url = f"{fake.openai_base_url}/chat/completions"
        if stream:
            body["stream_options"] = {"include_usage": True}
    else:
        url = f"{fake.anthropic_base_url}/v1/messages"
        body["max_tokens"] = 1000
    raw = Raw(wire)
    started = time.monotonic()
    headers = {"authorization": "Bearer k", "x-api-key": "k"}
    try:
        with httpx.Client(timeout=httpx.Timeout(READ_LIMIT_S, read=read_s)) as client, \
                client.stream("POST", url, json=body, headers=headers) as response:
            raw.status, raw.head_s = response.status_code, time.monotonic() - started
            raw.headers = {name.lower(): value for name, value in response.headers.items()}
            for piece in response.iter_raw():
                if raw.first_body_s is None and piece:
                    raw.first_body_s = time.monotonic() - started
                raw.body += piece
    except httpx.TransportError as error:
        raw.broken = type(error).__name__
    raw.end_s = time.monotonic() - started
    return raw


# --- what a response must show -------------------------------------------------------------------

See = Callable[[Raw], "str | None"]  # why the input is not in the response, or None


@dataclass(frozen=True, slots=True)
class Probe:
    """How to make one input: the faults to script, the request (``task``, ``stream``), what the
    raw response must show, the wires the fake produces it on, and whether a control run without
    the fault must lack it (not for a healthy input, nor a timing one: how fast a healthy
    exchange is depends on the machine, not on the fake)."""

    faults: tuple[dict[str, Any], ...]
    see: See
    task: str = "extract"
    stream: bool = False
    wires: tuple[str, ...] = WIRES
    control: bool = True
    read_s: float = READ_LIMIT_S


def _all(*checks: See) -> See:
    def see(raw: Raw) -> str | None:
        return next((problem for check in checks if (problem := check(raw)) is not None), None)
    return see


def _status(code: int) -> See:
    return lambda raw: None if raw.status == code else f"status {raw.status}, not {code}"


def _header(name: str, value: str) -> See:
    def see(raw: Raw) -> str | None:
        got = raw.headers.get(name)
        return None if got == value else f"header {name}: {got!r}, not {value!r}"
    return see


def _raw(ok: Callable[[Raw], bool], wanted: str) -> See:
    def see(raw: Raw) -> str | None:
        if ok(raw):
            return None
        return (f"no {wanted}: status {raw.status}, {raw.headers.get('content-type')}, "
                f"{len(raw.body)} bytes, broken: {raw.broken}")
    return see


def _no_response(error: str | None = None) -> See:
    return _raw(lambda raw: raw.status is None and raw.broken is not None
                and error in (None, raw.broken), f"connection broken before any response ({error or 'any'})")


def _plain(ok: Callable[[str, str | None, bool], bool], wanted: str) -> See:
    """A whole plain answer whose (text, finish reason, refused) is ``ok``."""
    def see(raw: Raw) -> str | None:
        if raw.status != 200 or raw.broken:
            return f"no whole answer to look at: status {raw.status}, broken: {raw.broken}"
        text, finish, refused = raw.plain()
        if ok(text or "", finish, refused):
            return None
        return f"no {wanted}: finish {finish}, refused {refused}, text {(text or '')[:120]!r}"
    return see


def _embedded_json(text: str) -> Any:
    """The JSON object inside ``text`` (from its first ``{`` to its last ``}``), or None."""
    try:
        return json.loads(text[text.find("{"):text.rfind("}") + 1])
    except ValueError:
        return None


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _stream(ok: Callable[[Stream], bool], wanted: str, broken: bool = False) -> See:
    """A stream (that breaks, or ends cleanly, as ``broken`` says) that is ``ok``."""
    def see(raw: Raw) -> str | None:
        if raw.status != 200 or "text/event-stream" not in raw.headers.get("content-type", ""):
            return f"no stream: status {raw.status}, {raw.headers.get('content-type')}"
        if bool(raw.broken) != broken:
            return f"the stream {'ended cleanly' if broken else f'broke ({raw.broken})'}"
        seen = raw.stream()
        if ok(seen):
            return None
        return (f"no {wanted}: {len(seen.text)} of {len(SUMMARY)} characters, finish reasons "
                f"{seen.finishes}, end marker {seen.marker}, error event {seen.error_event}")
    return see


def _whole_ending(finishes: list[str], marker: bool, wanted: str) -> See:
    return _stream(lambda s: s.text == SUMMARY and s.finishes == finishes and s.marker == marker,
                   wanted)


def _after(seconds: float, when: Callable[[Raw], float | None], what: str) -> See:
    """A lower bound the fake's own wait guarantees (never an upper bound: the machine may be slow)."""
    def see(raw: Raw) -> str | None:
        at = when(raw)
        return None if at is not None and at >= seconds else f"{what} at {at} s, not after {seconds} s"
    return see


def _fault(kind: str, **params: Any) -> tuple[dict[str, Any], ...]:
    return ({"kind": kind, **params},)


def _drift(variant: str, ok: Callable[[dict[str, Any]], bool], wanted: str) -> Probe:
    def shows(text: str, finish: str | None, refused: bool) -> bool:
        data = _embedded_json(text)
        return isinstance(data, dict) and ok(data)
    return Probe(_fault("schema_drift", variant=variant), _plain(shows, wanted))


def _size(ok: Callable[[Any], bool]) -> Callable[[dict[str, Any]], bool]:
    return lambda data: "sample_size" in data and ok(data["sample_size"])


def _markers(text: str) -> list[int]:
    return [int(m) for m in re.findall(r"\[(\d+)\]", text)]


DRIFTS = {
    "string-number": _drift("string_number", _size(lambda v: isinstance(v, str) and "," in v),
                            "sample_size with a thousands separator"),
    "missing-key": _drift("missing_key", lambda d: not set(TRUTH) <= set(d), "missing key"),
    "float-number": _drift("float_number", _size(lambda v: isinstance(v, float)), "float sample_size"),
    "zero": _drift("zero", _size(lambda v: v == 0 and v is not False), "sample_size 0"),
    "negative": _drift("negative", _size(lambda v: type(v) is int and v < 0), "negative sample_size"),
    "boolean": _drift("boolean", _size(lambda v: v is True), "boolean sample_size"),
    "decimal-string": _drift("decimal_string", _size(lambda v: isinstance(v, str) and "." in v),
                             "sample_size with a decimal point"),
    "approx-string": _drift("approx_string", _size(lambda v: isinstance(v, str) and "about" in v),
                            "approximate sample_size"),
    "effect-synonym": _drift("effect_synonym", lambda d: str(d.get("effect_direction")).lower()
                             not in EFFECTS, "unknown effect_direction"),
    "effect-case": _drift("effect_case", lambda d: d.get("effect_direction") not in EFFECTS
                          and str(d.get("effect_direction")).lower() in EFFECTS,
                          "differently-cased effect_direction"),
    "other-paper": _drift("other_paper", lambda d: d.get("paper_id") not in (PAPER, None),
                          "extraction of another paper"),
}


def _calls(ok: Callable[[list[Call]], bool], wanted: str) -> See:
    """A whole plain reply whose tool calls (some) are ``ok``."""
    def see(raw: Raw) -> str | None:
        if raw.status != 200 or raw.broken:
            return f"no whole reply to look at: status {raw.status}, broken: {raw.broken}"
        calls = raw.calls()
        if calls and ok(calls):
            return None
        return f"no {wanted}: calls {[(call.name, call.arguments) for call in calls]}"
    return see


def _first_args(ok: Callable[[str, dict[str, Any]], bool], wanted: str) -> See:
    """A first call to an offered tool whose arguments are a JSON object, ``ok`` given the tool's
    one parameter."""
    def first(calls: list[Call]) -> bool:
        args, param = calls[0].parsed(), agent.PARAMS.get(calls[0].name)
        return isinstance(args, dict) and param is not None and ok(param, args)
    return _calls(first, wanted)


def _same_call(calls: list[Call], made: Call) -> bool:
    """The first of ``calls`` repeats ``made`` (same tool, same arguments) under a new id."""
    first = calls[0]
    return first.name == made.name and first.parsed() == made.parsed() and first.call_id != made.call_id


def _answer(ok: Callable[[str, tuple[str, ...]], bool], wanted: str) -> See:
    """A review's final step: a whole plain answer, no call, whose (text, papers the review
    fetched) is ``ok``."""
    def see(raw: Raw) -> str | None:
        if raw.status != 200 or raw.broken or raw.calls():
            return (f"no answer to look at: status {raw.status}, broken: {raw.broken}, "
                    f"{len(raw.calls())} call(s)")
        text, _, _ = raw.plain()
        if ok(text or "", raw.fetched):
            return None
        return f"no {wanted}: fetched {list(raw.fetched)}, text {(text or '')[:120]!r}"
    return see


SEARCH_STEP = {"task": "agent:search"}
A_STREAM = {"task": "summary", "stream": True}
TIMED = {"control": False}  # a timing input: no control run (a healthy exchange's speed is the machine's)

STATIC: dict[str, Probe] = {
    # the connection, the timing, the plain body
    "reset": Probe(_fault("reset"), _no_response()),
    "hang": Probe(_fault("hang", max_hang_s=30), _no_response("ReadTimeout"), read_s=HANG_READ_S, **TIMED),
    "latency": Probe(_fault("latency", delay_ms=300), _all(
        _status(200), _after(0.3, lambda r: r.head_s, "the headers")), **TIMED),
    "trickle": Probe(_fault("trickle", pieces=4, interval_ms=150), _all(
        _plain(lambda text, *_: _parses(text), "whole JSON answer"),
        _after(0.45, lambda r: r.end_s, "the body's end")), **TIMED),
    "empty_body": Probe(_fault("empty_body"), _raw(
        lambda r: r.status == 200 and r.body == b"" and not r.broken, "200 with an empty body")),
    "wrong_content_type": Probe(_fault("wrong_content_type"), _raw(
        lambda r: r.status == 200 and r.headers.get("content-type", "").startswith("text/html")
        and r.json() is None, "200 with an HTML page")),
    "disconnect": Probe(_fault("disconnect"), _raw(
        lambda r: r.status == 200 and r.broken is not None
        and len(r.body) < int(r.headers.get("content-length", "0")), "body cut off mid-way")),
    "rate_limit": Probe(_fault("rate_limit", retry_after_ms=1500), _all(
        _status(429), _header("retry-after", "2"))),
    "usage": Probe((), _raw(lambda r: USAGE_NAMES[r.wire] <= r.usage_names(),
                            "usage in the provider's names"), control=False),
    # the content of a plain answer
    "refusal": Probe(_fault("refusal"), _plain(lambda text, finish, refused: refused, "refusal")),
    "empty_content": Probe(_fault("empty_content"), _plain(
        lambda text, finish, refused: text == "" and not refused, "empty text")),
    "json_fences": Probe(_fault("json_fences"), _plain(
        lambda text, *_: text.startswith("```") and text.rstrip().endswith("```")
        and isinstance(_embedded_json(text), dict), "JSON in a code fence")),
    "json_prose_wrap": Probe(_fault("json_prose_wrap"), _plain(
        lambda text, *_: not text.startswith("{") and not text.endswith("}")
        and isinstance(_embedded_json(text), dict), "JSON with prose around it")),
    "json_trailing_comma": Probe(_fault("json_trailing_comma"), _plain(
        lambda text, *_: re.search(r",\s*[}\]]", text) is not None and not _parses(text),
        "trailing comma")),
    "json_single_quotes": Probe(_fault("json_single_quotes"), _plain(
        lambda text, *_: "'paper_id'" in text and '"' not in text, "single-quoted JSON")),
    "json_truncated": Probe(_fault("json_truncated"), _plain(
        lambda text, finish, _: finish == "length" and bool(text) and not _parses(text),
        "JSON cut short at the length limit")),
    "length_limit": Probe(_fault("length_limit"), _plain(
        lambda text, finish, _: finish == "length" and 0 < len(text) < len(SUMMARY),
        "summary cut at the length limit"), task="summary"),
    "length_limit:whole": Probe(_fault("length_limit", keep_fraction=1), _plain(
        lambda text, finish, _: finish == "length" and _parses(text),
        "whole JSON stopped by the length limit")),
    "bad_citation": Probe(_fault("bad_citation"), _plain(
        lambda text, *_: any(m > len(SOURCES) for m in _markers(text)), "marker past the last source"),
        task="answer"),
    "answer_text": Probe(_fault("answer_text", text=ANSWER_TEXT), _plain(
        lambda text, *_: text == ANSWER_TEXT, "exact answer text"), task="answer"),
    # the review agent's steps: the model's tool calls, and its answer
    "tool_args_not_json": Probe(_fault("tool_args_not_json"), _calls(
        lambda calls: calls[0].name in agent.PARAMS and not _parses(calls[0].arguments),
        "call whose arguments are not JSON"), **SEARCH_STEP, wires=("openai",)),  # Anthropic: streams only
    "tool_args_schema:missing-key": Probe(_fault("tool_args_schema", variant="missing_key"), _first_args(
        lambda param, args: param not in args, "call missing its argument"), **SEARCH_STEP),
    "tool_args_schema:wrong-type": Probe(_fault("tool_args_schema", variant="wrong_type"), _first_args(
        lambda param, args: param in args and not isinstance(args[param], str), "non-string argument"),
        **SEARCH_STEP),
    "tool_args_schema:extra-key": Probe(_fault("tool_args_schema", variant="extra_key"), _first_args(
        lambda param, args: bool(set(args) - {param}), "argument the schema lacks"), **SEARCH_STEP),
    "tool_unknown_name": Probe(_fault("tool_unknown_name"), _calls(
        lambda calls: calls[0].name not in agent.PARAMS, "call of a tool never offered"), **SEARCH_STEP),
    "tool_parallel_calls": Probe(_fault("tool_parallel_calls", copies=2), _calls(
        lambda calls: len(calls) == 2 and len({(c.name, c.arguments) for c in calls}) == 1
        and len({c.call_id for c in calls}) == 2 and agent.malformed(calls[0]) is None,
        "two copies of one call in one reply"), **SEARCH_STEP),
    "tool_loop": Probe(_fault("tool_loop"), _calls(
        lambda calls: len(calls) == 1 and _same_call(calls, agent.SEARCH_CALL),
        "repeat of the search already made"), task="agent:fetch"),
    "tools:marker-not-fetched": Probe(_fault("tool_args_schema", variant="extra_key"), _answer(
        lambda text, fetched: any(pid not in fetched for pid in re.findall(r"\[(P\d{4})\]", text)),
        "marker to a paper the review never fetched"), task="agent:answer"),
    "tools:empty-answer": Probe(_fault("empty_content"), _answer(
        lambda text, fetched: text == "", "empty final answer"), task="agent:answer"),
    # streams (of a summary)
    "slow_first_token": Probe(_fault("slow_first_token", delay_ms=300), _all(
        _whole_ending(["stop"], True, "whole stream"),
        _after(0.3, lambda r: r.first_body_s, "the first event")), **A_STREAM, **TIMED),
    "stall": Probe(_fault("stall", after_chunks=2, pause_ms=400), _all(
        _whole_ending(["stop"], True, "whole stream"),
        _after(0.4, lambda r: r.end_s, "the stream's end")), **A_STREAM, **TIMED),
    "drip": Probe(_fault("drip", chunk_interval_ms=40), _all(
        _whole_ending(["stop"], True, "whole stream"),
        lambda r: _after(0.04 * (r.stream().pieces - 1), lambda raw: raw.end_s, "the stream's end")(r)),
        **A_STREAM, **TIMED),
    "stream:complete": Probe((), _whole_ending(["stop"], True, "stop then the end marker"),
                             **A_STREAM, control=False),
    "stream:usage": Probe((), _stream(lambda s: any(names <= s.usage_names for names in USAGE_NAMES.values()),
                                      "usage in the provider's names"), **A_STREAM, control=False),
    "stream:disconnect": Probe(_fault("disconnect", after_chunks=3), _stream(
        lambda s: bool(s.text) and not s.marker, "text, then a broken connection", broken=True), **A_STREAM),
    "stream:break-before-text": Probe(_fault("disconnect", after_chunks=0), _stream(
        lambda s: not s.text and not s.marker, "broken connection before any text", broken=True),
        **A_STREAM),
    "stream:truncate": Probe(_fault("truncate"), _stream(
        lambda s: 0 < len(s.text) < len(SUMMARY) and not s.finishes, "clean early end"), **A_STREAM),
    "stream:no-finish-reason": Probe(_fault("stream_end", finish_reason=None), _whole_ending(
        [], True, "end without a finish reason"), **A_STREAM),
    "stream:length": Probe(_fault("stream_end", finish_reason="length"), _whole_ending(
        ["length"], True, "finish reason length"), **A_STREAM),
    "stream:stop-without-done": Probe(_fault("stream_end", end_marker=False), _whole_ending(
        ["stop"], False, "stop without the end marker"), **A_STREAM),
    "stream:corrupt-chunk": Probe(_fault("corrupt_chunk"), _stream(
        lambda s: s.unparseable, "frame that does not parse"), **A_STREAM),
    "stream:error-event": Probe(_fault("error_event"), _stream(
        lambda s: s.error_event and not s.marker, "error event"), **A_STREAM),
    "stream:refusal": Probe(_fault("refusal"), _stream(lambda s: s.refused, "refusal"), **A_STREAM),
}

_STATUS = re.compile(r"^http_error:(?P<status>[45]\d\d)(?P<mods>(\+[a-z-]+(:[a-z]+)?)*)$")
# modifier: (the fault's parameters, what the response must carry, the wires it exists on)
_MODS: dict[str, tuple[dict[str, Any], See, tuple[str, ...]]] = {
    "+retry-after": ({"retry_after_ms": 1500}, _header("retry-after", "2"), WIRES),
    "+retry-after-ms": ({"retry_after_ms": 1500}, _header("retry-after-ms", "1500"), ("openai",)),
    "+should-retry:true": ({"should_retry": True}, _header("x-should-retry", "true"), WIRES),
    "+should-retry:false": ({"should_retry": False}, _header("x-should-retry", "false"), WIRES),
}


def probe(name: str) -> Probe:
    """The probe of vocabulary entry ``name``; ValueError naming the problem for anything else."""
    if name in STATIC:
        return STATIC[name]
    if name.removeprefix("schema_drift:") in DRIFTS and name.startswith("schema_drift:"):
        return DRIFTS[name.removeprefix("schema_drift:")]
    match = _STATUS.match(name)
    if match is None:
        raise ValueError(f"unknown input {name!r}: the vocabulary is {', '.join(vocabulary())}")
    status = int(match["status"])
    params: dict[str, Any] = {"kind": "http_error", "status": status}
    checks, wires = [_status(status)], set(WIRES)
    for mod in re.findall(r"\+[a-z-]+(?::[a-z]+)?", match["mods"]):
        if mod not in _MODS:
            raise ValueError(f"input {name!r}: unknown modifier {mod!r}; known: {', '.join(_MODS)}")
        extra, check, mod_wires = _MODS[mod]
        params.update(extra)
        checks.append(check)
        wires &= set(mod_wires)
    return Probe((params,), _all(*checks), wires=tuple(w for w in WIRES if w in wires))


def vocabulary() -> list[str]:
    """Every entry, as a reader needs it (a status is any 4xx or 5xx)."""
    return [*STATIC, *(f"schema_drift:{variant}" for variant in DRIFTS),
            "http_error:<status>", *(f"http_error:<status>{mod}" for mod in _MODS)]
