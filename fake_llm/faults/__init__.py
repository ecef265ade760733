"""The fault catalogue. ``fault_kinds()`` lists every kind; ``make_fault`` builds one from a dict."""

from fake_llm.faults.base import Fault, HttpError, Plan, RequestContext
from fake_llm.faults.catalogue import fault_kinds, make_fault

__all__ = ["Fault", "HttpError", "Plan", "RequestContext", "fault_kinds", "make_fault"]
