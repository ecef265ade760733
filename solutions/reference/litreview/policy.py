"""The reliability policy: every number the app promises its users, in one place.

The defaults are the contract the exercises state; tests pass smaller or larger values to make a
behaviour quick to observe. Times are seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

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
