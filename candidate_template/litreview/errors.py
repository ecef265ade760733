"""Every error the API returns, and the one place that turns exceptions into responses.

Error bodies are always ``{"error": {"code": "...", "message": "..."}}``. Clients rely on the
``code`` and the HTTP status, never on the message text. The exceptions::

    LitReviewError        base class of the app's own errors
    ├── PaperNotFound     no paper with that id                          -> 404 not_found
    └── LLMError          the LLM provider answered with an error status -> 429 rate_limited
                                                                           or 503 llm_unavailable

Request bodies that fail validation are 400 ``bad_request``; anything unexpected is 500
``internal_error``. :func:`describe` is the single mapping; add new errors there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)


class LitReviewError(Exception):
    """Base class of the errors the app raises on purpose."""


class PaperNotFound(LitReviewError):
    """No paper with this id in the local corpus."""

    def __init__(self, paper_id: str) -> None:
        super().__init__(f"no paper with id {paper_id!r}")
        self.paper_id = paper_id


class LLMError(LitReviewError):
    """The LLM provider answered with an HTTP error status."""

    def __init__(self, provider: str, upstream_status: int) -> None:
        super().__init__(f"{provider} answered with HTTP {upstream_status}")
        self.provider = provider
        self.upstream_status = upstream_status


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """How the API reports one error: HTTP status, stable code, human-readable message."""

    status: int
    code: str
    message: str

    def body(self) -> dict[str, dict[str, str]]:
        """The JSON error body."""
        return {"error": {"code": self.code, "message": self.message}}


def describe(exc: Exception) -> ErrorInfo:
    """The status, code and message the API reports for ``exc``."""
    match exc:
        case PaperNotFound():
            return ErrorInfo(404, "not_found", str(exc))
        case LLMError(upstream_status=429):
            return ErrorInfo(429, "rate_limited", str(exc))
        case LLMError():
            return ErrorInfo(503, "llm_unavailable", str(exc))
        case RequestValidationError():
            return ErrorInfo(400, "bad_request", _validation_message(exc))
        case StarletteHTTPException(status_code=404):
            return ErrorInfo(404, "not_found", str(exc.detail))
        case StarletteHTTPException():
            return ErrorInfo(exc.status_code, "bad_request", str(exc.detail))
        case _:
            return ErrorInfo(500, "internal_error", "internal error")


def _validation_message(exc: RequestValidationError) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        problems.append(f"{where or 'body'}: {error.get('msg', 'invalid')}")
    return "; ".join(problems) or "invalid request"


async def _handle(request: Request, exc: Exception) -> JSONResponse:
    info = describe(exc)
    if info.status >= 500:
        logger.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return JSONResponse(info.body(), status_code=info.status)


def install_error_handlers(app: FastAPI) -> None:
    """Make every error the app can raise answer with the JSON error body."""
    for exc_type in (LitReviewError, RequestValidationError, StarletteHTTPException, Exception):
        app.add_exception_handler(exc_type, _handle)
