"""Imports every fault module so that each kind registers itself, in catalogue order."""

from fake_llm.faults import citations, content, http, stream, timing, transport

__all__ = ["citations", "content", "http", "stream", "timing", "transport"]
