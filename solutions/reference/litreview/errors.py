"""Every error the app raises, and the one place that turns them into API responses.

Error bodies are always ``{"error": {"code": "...", "message": "..."}}``; streams carry the same
``{"code", "message"}`` in an ``error`` event. Clients rely on the code and the status, never on
the message. The tree (code and status of each class in :data:`_CODES`)::

    LitReviewError                 base class; never raised itself
    ├── PaperNotFound              no such paper                            404 not_found
    ├── BudgetExceeded             the request's token budget is spent      402 budget_exceeded
    └── LLMError                   the language model could not serve us
        ├── LLMTimeout             the request's deadline (or a stream's)   504 llm_timeout
        ├── LLMUnavailable         transient failures exhausted             503 llm_unavailable
        │   └── CircuitOpen        the provider's breaker refuses calls     503 llm_unavailable
        ├── RateLimited            exhausted, and the last failure a 429    429 rate_limited
        ├── LLMRejected            the provider refused the request (4xx)   502 llm_rejected
        ├── LLMInvalidOutput       no usable answer after the re-asks, or   502 llm_invalid_output
        │                          a 200 that is no completion at all
        ├── LLMIncomplete          a stream was cut or ended early          502 llm_incomplete
        ├── AgentStuck             a review reached its step limit          502 agent_stuck
        └── AttemptError           one call to one provider failed; internal: the gateway turns
                                   it into one of the above (503 if one ever escapes)

Validation errors of request bodies are 400 ``bad_request``; anything unexpected is 500
``internal_error``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from litreview.llm.types import Usage

logger = logging.getLogger(__name__)

# connection: refused, reset, closed early; timeout: no answer in time; http: an error status;
# unreadable: a 200 whose body is no completion; cut: a stream that dropped or ended early;
# broken: a stream carrying garbage or an error event.
FailureKind = Literal["connection", "timeout", "http", "unreadable", "cut", "broken"]


class LitReviewError(Exception):
    """Base class of the errors the app raises on purpose."""


class PaperNotFound(LitReviewError):
    """No paper with this id in the local corpus."""

    def __init__(self, paper_id: str) -> None:
        super().__init__(f"no paper with id {paper_id!r}")
        self.paper_id = paper_id


class BudgetExceeded(LitReviewError):
    """The request spent its token budget before it had an answer."""


class LLMError(LitReviewError):
    """The language model could not serve the request."""


class LLMTimeout(LLMError):
    """The request's deadline passed, or a stream went quiet for too long."""


class LLMUnavailable(LLMError):
    """Every attempt the policy allowed failed with a transient error."""


class CircuitOpen(LLMUnavailable):
    """The provider failed so often recently that calls to it are paused."""


class RateLimited(LLMError):
    """The provider kept rate-limiting us (the last failure was a 429)."""


class LLMRejected(LLMError):
    """The provider refused the request itself (a 4xx other than 429); retrying cannot help."""


class LLMInvalidOutput(LLMError):
    """The model answered, but not usably (bad JSON, refusal, empty, cut off) even when re-asked,
    or the provider's 200 could not be read as an answer at all."""


class LLMIncomplete(LLMError):
    """A streamed answer was cut off or ended without its end marker."""


class AgentStuck(LLMError):
    """A review's model still asked for tools at the last step it was allowed."""


class AttemptError(LLMError):
    """One call to one provider failed. The gateway decides whether to retry and what to report.

    ``transient`` says the same call a moment later would likely work (a connection error, a
    timeout, a cut stream, 408/409/429/5xx/529, a 200 whose body is unreadable): it is worth
    retrying unless the provider said otherwise in ``x-should-retry`` (``should_retry``). Broken
    streams and refusals are not transient. ``retry_after_s`` is the provider's
    ``retry-after-ms``/``retry-after``; ``usage`` is what the failed call reported.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        kind: FailureKind,
        transient: bool,
        should_retry: bool | None = None,
        upstream_status: int | None = None,
        retry_after_s: float | None = None,
        usage: Usage | None = None,
    ) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider
        self.kind = kind
        self.transient = transient
        self.should_retry = should_retry
        self.upstream_status = upstream_status
        self.retry_after_s = retry_after_s
        self.usage = usage or Usage()

    @property
    def retryable(self) -> bool:
        """Worth another attempt: the provider's ``x-should-retry`` if sent, else ``transient``."""
        return self.transient if self.should_retry is None else self.should_retry

    @property
    def provider_down(self) -> bool:
        """Whether the failure counts against the provider's breaker: a transient one, except an
        unreadable 200 (the provider answered; something on the way garbled it)."""
        return self.transient and self.kind != "unreadable"

    @property
    def rejected(self) -> bool:
        """The provider refused the request itself (a 4xx other than 429 and not transient)."""
        status = self.upstream_status
        return status is not None and 400 <= status < 500 and status != 429 and not self.transient


# Most specific class first: the first isinstance match wins.
_CODES: tuple[tuple[type[Exception], int, str], ...] = (
    (PaperNotFound, 404, "not_found"),
    (BudgetExceeded, 402, "budget_exceeded"),
    (LLMTimeout, 504, "llm_timeout"),
    (LLMUnavailable, 503, "llm_unavailable"),
    (RateLimited, 429, "rate_limited"),
    (LLMRejected, 502, "llm_rejected"),
    (LLMInvalidOutput, 502, "llm_invalid_output"),
    (LLMIncomplete, 502, "llm_incomplete"),
    (AgentStuck, 502, "agent_stuck"),
    (LLMError, 503, "llm_unavailable"),
    (RequestValidationError, 400, "bad_request"),
)


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """How the API reports one error: HTTP status, stable code, human-readable message."""

    status: int
    code: str
    message: str

    def body(self) -> dict[str, dict[str, str]]:
        """The JSON error body."""
        return {"error": self.event()}

    def event(self) -> dict[str, str]:
        """The ``{"code", "message"}`` pair, as a stream's ``error`` event carries it."""
        return {"code": self.code, "message": self.message}


def describe(exc: Exception) -> ErrorInfo:
    """The status, code and message the API reports for ``exc`` (the one mapping)."""
    for exc_type, status, code in _CODES:
        if isinstance(exc, exc_type):
            return ErrorInfo(status, code, _message(exc))
    if isinstance(exc, StarletteHTTPException):
        code = "not_found" if exc.status_code == 404 else "bad_request"
        return ErrorInfo(exc.status_code, code, str(exc.detail))
    return ErrorInfo(500, "internal_error", "internal error")


def _message(exc: Exception) -> str:
    if isinstance(exc, RequestValidationError):
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
            problems.append(f"{where or 'body'}: {error.get('msg', 'invalid')}")
        return "; ".join(problems) or "invalid request"
    return str(exc) or type(exc).__name__


async def _handle(request: Request, exc: Exception) -> JSONResponse:
    info = describe(exc)
    if info.status >= 500 and info.code == "internal_error":
        logger.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return JSONResponse(info.body(), status_code=info.status)


def install_error_handlers(app: FastAPI) -> None:
    """Make every error the app can raise answer with the JSON error body."""
    for exc_type in (LitReviewError, RequestValidationError, StarletteHTTPException, Exception):
        app.add_exception_handler(exc_type, _handle)
