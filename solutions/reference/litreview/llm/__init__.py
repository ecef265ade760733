"""Talking to language models, reliably.

- ``types.py``      values shared by everything below (messages, usage, completions, stream events);
- ``openai.py``, ``anthropic.py``  one module per wire format: one call, no policy;
- ``http.py``       what both wire formats share: error classification, retry headers, SSE;
- ``retry.py``      backoff with jitter and the app-wide retry budget;
- ``breaker.py``    a circuit breaker per provider;
- ``gateway.py``    the policy: deadlines, attempts, retries, breakers, fallback, usage;
- ``streaming.py``  the same policy for streamed answers, plus first-token and idle deadlines.

This package imports nothing at package level so that ``litreview.errors`` can use its types.
"""
