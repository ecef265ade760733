"""Scripted rules in plain words: the evidence of what a check injected, derived from the rules
themselves rather than written beside them by hand (where the two drift apart).

:func:`describe_rules` renders the rules a check scripts (``scenario.rule(...)``) as one sentence
per rule, in order, e.g. ``the first extraction call about P0181: HTTP 503; every later one: a
hang``. ``scenario.script(fake, rules, evidence=evidence)`` records it as the check's "injected"
evidence, so a new check gets it for free; a check adds with ``evidence.injected`` only what the
rules cannot say (how many requests it sends, and how: at once, in waves).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

_TASKS = {"summary": "summary", "extract": "extraction", "answer": "answer", "chat": "chat"}


def _http_error(p: Mapping[str, Any]) -> str:
    status = p.get("status")
    text = f"HTTP {status}" if status is not None else \
        "HTTP " + " or ".join(str(s) for s in p.get("statuses", (429, 500, 502, 503)))
    if p.get("retry_after_ms") is not None:
        text += (f" asking to wait {p['retry_after_ms']} ms (retry-after-ms, and retry-after in "
                 "whole seconds, rounded up)")
    if p.get("should_retry") is not None:
        text += f" with x-should-retry: {str(p['should_retry']).lower()}"
    return text


def _stream_end(p: Mapping[str, Any]) -> str:
    reason = p.get("finish_reason", "stop")
    marker = "then the end marker" if p.get("end_marker", True) else "and no end marker"
    return (f"the whole stream, finish reason {reason}, {marker}" if reason is not None
            else f"the whole stream with no finish reason, {marker}")


_FAULTS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "latency": lambda p: (f"an answer after {p['delay_ms']:g} ms" if p.get("delay_ms") is not None
                          else f"an answer after about {p.get('median_ms', 20):g} ms"),
    "hang": lambda p: "no answer at all (a hang)",
    "slow_first_token": lambda p: f"the first token after {p.get('delay_ms', 3000):g} ms",
    "stall": lambda p: (f"a {p.get('pause_ms', 5000):g} ms silence after {p.get('after_chunks', 3)} "
                        "chunks, then the rest"),
    "drip": lambda p: f"stream chunks {p.get('chunk_interval_ms', 500):g} ms apart",
    "trickle": lambda p: (f"a 200 whose body comes in {p.get('pieces', 20)} pieces "
                          f"{p.get('interval_ms', 200):g} ms apart"),
    "http_error": _http_error,
    "rate_limit": lambda p: f"a 429 from the rate limiter asking to wait {p.get('retry_after_ms', 1000)} ms",
    "reset": lambda p: "a connection reset before any response",
    "disconnect": lambda p: f"the connection cut after {p.get('after_chunks', 3)} stream chunks (or half "
                            "a plain body)",
    "empty_body": lambda p: "a 200 with an empty body",
    "wrong_content_type": lambda p: "a 200 with an HTML page instead of JSON",
    "truncate": lambda p: (f"a stream that ends cleanly after {p.get('keep_fraction', 0.5):.0%} of the "
                           "text, with no finish reason"),
    "corrupt_chunk": lambda p: f"stream chunk {p.get('chunk_index', 2)} garbled (not JSON)",
    "error_event": lambda p: f"an error event after {p.get('after_chunks', 3)} stream chunks",
    "stream_end": _stream_end,
    "schema_drift": lambda p: f"JSON off the schema ({str(p.get('variant', 'any')).replace('_', ' ')})",
    "json_single_quotes": lambda p: "JSON with single quotes",
    "json_trailing_comma": lambda p: "JSON with a trailing comma",
    "json_fences": lambda p: "JSON in a Markdown code fence",
    "json_prose_wrap": lambda p: "JSON with prose before and after it",
    "json_truncated": lambda p: (f"JSON cut at {p.get('keep_fraction', 0.6):.0%} of its length, finish "
                                 "reason length"),
    "length_limit": lambda p: (f"the text cut at {p.get('keep_fraction', 0.6):.0%} of its length by the "
                               "length limit (finish reason length)"),
    "bad_citation": lambda p: (f"an extra sentence citing {p.get('extra_markers', 1)} source(s) past the "
                               "last one given"),
    "answer_text": lambda p: f"the answer text {p.get('text')!r}",
    "refusal": lambda p: "a refusal",
    "empty_content": lambda p: "an empty answer",
    "tool_args_not_json": lambda p: (f"tool-call arguments that are not JSON "
                                     f"({str(p.get('variant', 'truncated')).replace('_', ' ')})"),
    "tool_args_schema": lambda p: (f"tool-call arguments off the tool's schema "
                                   f"({str(p.get('variant', 'any')).replace('_', ' ')})"),
    "tool_unknown_name": lambda p: (f"a call to a tool that was not offered ({p['name']!r})" if p.get("name")
                                    else "a call to a tool that was not offered"),
    "tool_loop": lambda p: "the same tool call repeated on every turn",
    "tool_parallel_calls": lambda p: f"{p.get('copies', 2)} tool calls at once where one was expected",
}


def describe_fault(spec: Mapping[str, Any]) -> str:
    """One fault spec (``{"kind": ..., **params}``) in plain words."""
    params = {key: value for key, value in spec.items() if key != "kind"}
    render = _FAULTS.get(str(spec.get("kind")))
    if render is None:  # a kind this module does not know yet: say it as it is
        return f"{spec.get('kind')} {params}" if params else str(spec.get("kind"))
    return render(params)


def _calls(match: Mapping[str, Any], plural: bool = False) -> str:
    """``extraction call about P0181 to anthropic`` for a rule's match."""
    words = []
    if match.get("stream") is not None:
        words.append("streamed" if match["stream"] else "plain")
    if match.get("task"):
        words.append(_TASKS.get(match["task"], match["task"]))
    words.append("calls" if plural else "call")
    if match.get("paper_id"):
        words.append(f"about {match['paper_id']}")
    if match.get("model"):
        words.append(f"to {match['model']}")
    elif match.get("provider"):
        words.append(f"to {match['provider']}")
    return " ".join(words)


def describe_rules(rules: Sequence[Mapping[str, Any]]) -> str:
    """The rules, in the order the fake consults them, one clause each: which calls, what they get."""
    taken: dict[str, int | None] = {}  # calls of each match the earlier rules take (None: all)
    parts = []
    for rule in rules:
        match = rule.get("match") or {}
        key = repr(sorted(match.items()))
        faults = rule.get("faults") or [rule.get("fault") or {}]
        what = " and ".join(describe_fault(spec) for spec in faults)
        times = rule.get("times", 1)
        before = taken.get(key, 0)
        if before is None:
            continue  # an earlier rule takes every such call: this one never applies
        if times is None:
            whom = f"every later {_calls(match)}" if before else f"every {_calls(match)}"
        elif times == 1:
            whom = f"the next {_calls(match)}" if before else f"the first {_calls(match)}"
        else:
            whom = f"the {'next' if before else 'first'} {times} {_calls(match, plural=True)}"
        taken[key] = None if times is None else before + times
        parts.append(f"{whom}: {what}")
    return "; ".join(parts) if parts else "no fault"
