"""The reliability policy: every number the app promises its users, in one place.

The defaults are the contract the exercises state; tests pass smaller or larger values to make a
behaviour quick to observe. Times are seconds. The briefs' numbers can differ by level (a tighter
first-event limit, a lower batch cap at ``hurricane``): the repo's ``contract.toml`` repeats the
numbers of this session's briefs, and :meth:`Policy.for_session` reads them from there.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

CONTRACT_FILE = Path(__file__).resolve().parents[1] / "contract.toml"

# Each number of the briefs the policy follows: the contract's key, the field it sets, and the
# factor from the brief's unit to the policy's.
_FROM_CONTRACT = (
    ("deadline_s", "request_deadline_s", 1.0),
    ("batch_deadline_s", "batch_deadline_s", 1.0),
    ("first_event_s", "stream_first_event_s", 1.0),
    ("first_event_s", "stream_attempt_s", 0.5),  # half the first-event time: room for a retry
    ("max_gap_s", "stream_idle_s", 1.0),
    ("max_attempts", "max_attempts", 1),
    ("backoff_base_ms", "backoff_base_s", 0.001),
    ("backoff_cap_s", "backoff_cap_s", 1.0),
    ("retry_budget_max_tokens", "retry_budget_capacity", 1.0),
    ("retry_budget_deposit", "retry_budget_deposit", 1.0),
    ("breaker_failure_threshold", "breaker_failure_threshold", 1),
    ("breaker_cooldown_s", "breaker_cooldown_s", 1.0),
    ("max_generations", "max_generations", 1),
    ("max_in_flight", "batch_concurrency", 1),
    ("review_deadline_s", "review_deadline_s", 1.0),
    ("max_steps", "review_max_steps", 1),
    ("max_tool_reasks", "review_max_tool_reasks", 1),
    ("search_results", "review_search_results", 1),
    ("default_review_token_budget", "review_token_budget", 1),
)


class PolicyError(ValueError):
    """The contract file disagrees with itself; the message names the key."""


# The request schema's limit: known before any Policy object exists, so not a Policy field.
BATCH_MAX_ITEMS = 20


@dataclass(frozen=True, slots=True)
class Policy:
    """How long the app waits, how often it retries, and how much it may spend."""

    # Deadlines, measured from the request's arrival.
    request_deadline_s: float = 4.0  # /summaries, /extractions, /answers
    batch_deadline_s: float = 8.0  # /summaries/batch as a whole
    stream_first_event_s: float = 2.0  # /summaries/stream: first event to the user
    stream_idle_s: float = 1.5  # longest gap between upstream events once streaming
    # One attempt's wait for a stream's first token: about half the first-event time, so that a
    # latency spike on the first attempt still leaves room for a retry.
    stream_attempt_s: float = 1.0
    # Answer a little before the deadline: serialising and the trip back take time too.
    deadline_margin_s: float = 0.2

    # One attempt. Long enough for the slow model's usual answer, short enough to retry a spike.
    attempt_timeout_s: float = 1.5
    connect_timeout_s: float = 0.5
    min_attempt_s: float = 0.05  # no retry unless at least this much time remains after the wait

    # Retries (per provider, per user request; per item in a batch).
    max_attempts: int = 4
    backoff_base_s: float = 0.1
    backoff_cap_s: float = 1.0
    retry_budget_capacity: float = 10.0
    retry_budget_deposit: float = 0.3

    # Circuit breaker, per provider.
    breaker_failure_threshold: int = 5
    breaker_cooldown_s: float = 2.0

    # Fallback (summaries): time kept back from the primary so the secondary has a fair chance.
    fallback_reserve_s: float = 1.5

    # Structured output: the first generation plus at most two re-asks.
    max_generations: int = 3

    # Batches (at most BATCH_MAX_ITEMS papers each).
    batch_concurrency: int = 4

    # Reviews (POST /reviews): the agent's loop. A step is one reply of the model.
    review_deadline_s: float = 6.0
    review_max_steps: int = 8
    review_max_tool_reasks: int = 2  # replies with a malformed tool call answered with a re-ask
    review_search_results: int = 5  # papers one search returns
    review_token_budget: int = 20_000  # when the request names none
    # The one-time corpus index: its own, generous time (it is not a review's), still bounded.
    index_attempt_timeout_s: float = 5.0

    @classmethod
    def for_session(cls, path: Path = CONTRACT_FILE) -> Policy:
        """The policy for the briefs of this repo: the defaults, with every number that
        ``contract.toml`` states (its tables, one per exercise, must agree on a shared key).
        Without the file, the defaults."""
        if not path.is_file():
            return cls()
        tables: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
        values: dict[str, Any] = {}
        for table in tables.values():
            for key, value in (table.items() if isinstance(table, dict) else ()):
                if key in values and values[key] != value:
                    raise PolicyError(f"{path}: {key} is both {values[key]!r} and {value!r}")
                values[key] = value
        changes: dict[str, Any] = {}
        for key, name, factor in _FROM_CONTRACT:
            if key in values:
                value = values[key]
                changes[name] = value * factor if isinstance(factor, float) else int(value)
        return replace(cls(), **changes)
