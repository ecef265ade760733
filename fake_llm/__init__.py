"""A deliberately flaky fake LLM server speaking the OpenAI and Anthropic wire formats.

Run it with ``python -m fake_llm serve``; in tests use :class:`fake_llm.runner.FakeLLM`.
This package imports nothing else of the kit: it is copied into every candidate repo.
"""

__version__ = "0.1.0"
