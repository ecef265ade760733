"""API errors as each provider sends them: one table per provider, rendered by one function.

OpenAI: ``{"error": {"message", "type", "param", "code"}}``. Anthropic:
``{"type": "error", "error": {"type", "message"}}``. A 502 (and OpenAI's 504) comes from the
gateway in front of the API, so it is an HTML page, as real clients meet it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from fake_llm.pricing import Provider

GATEWAY_PAGE = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n<hr><center>cloudflare</center>\r\n"
    "</body>\r\n</html>\r\n"
)
_REASONS = {502: "Bad Gateway", 504: "Gateway Time-out"}

# status -> (type, default message, code)
_OPENAI: dict[int, tuple[str, str, str | None]] = {
    400: ("invalid_request_error", "Invalid request.", None),
    401: ("invalid_request_error", "Incorrect API key provided.", "invalid_api_key"),
    403: ("invalid_request_error", "You are not allowed to sample from this model.", None),
    404: ("invalid_request_error", "The requested resource does not exist.", None),
    408: ("invalid_request_error", "Request timed out.", None),
    409: ("invalid_request_error", "The request conflicts with another request.", None),
    413: ("invalid_request_error", "The request is too large.", None),
    422: ("invalid_request_error", "The request could not be processed.", None),
    429: ("requests", "Rate limit reached for requests. Please try again later.", "rate_limit_exceeded"),
    500: ("server_error", "The server had an error while processing your request. Sorry about that!", None),
    503: ("server_error", "The engine is currently overloaded, please try again later.", None),
    529: ("server_error", "The server is overloaded, please try again later.", None),
}
_ANTHROPIC: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "The requested resource could not be found."),
    408: ("timeout_error", "Request timed out."),
    409: ("invalid_request_error", "The request conflicts with another request."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    422: ("invalid_request_error", "The request could not be processed."),
    429: ("rate_limit_error", "Number of requests has exceeded your rate limit."),
    500: ("api_error", "Internal server error"),
    503: ("api_error", "Service unavailable"),
    504: ("timeout_error", "Request timeout"),
    529: ("overloaded_error", "Overloaded"),
}


@dataclass(frozen=True)
class ApiError(Exception):
    """An error response: its status, and optionally a message, a param and a code."""

    status: int
    message: str | None = None
    param: str | None = None
    code: str | None = None
    retry_after_ms: int | None = None
    should_retry: bool | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Rendered:
    """An error ready to send."""

    status: int
    body: bytes
    content_type: str
    headers: dict[str, str]


def _retry_headers(provider: Provider, error: ApiError) -> dict[str, str]:
    headers = dict(error.headers)
    if error.retry_after_ms is not None:
        headers["retry-after"] = str(math.ceil(error.retry_after_ms / 1000))
        if provider == "openai":
            headers["retry-after-ms"] = str(error.retry_after_ms)
    if error.status == 429 and provider == "openai":
        headers.setdefault("x-ratelimit-remaining-requests", "0")
        headers.setdefault("x-ratelimit-reset-requests", f"{error.retry_after_ms or 1000}ms")
    if error.should_retry is not None:
        headers["x-should-retry"] = "true" if error.should_retry else "false"
    return headers


def render_error(provider: Provider, error: ApiError) -> Rendered:
    """The provider's own status, body and headers for an error."""
    headers = _retry_headers(provider, error)
    gateway = error.status == 502 or (error.status == 504 and provider == "openai")
    if gateway:
        reason = _REASONS[error.status]
        page = GATEWAY_PAGE.format(status=error.status, reason=reason)
        return Rendered(error.status, page.encode(), "text/html; charset=utf-8", headers)
    if provider == "openai":
        default_type, default_message, default_code = _OPENAI.get(
            error.status, ("server_error" if error.status >= 500 else "invalid_request_error",
                           "An error occurred.", None))
        payload: dict[str, object] = {"error": {
            "message": error.message or default_message, "type": default_type,
            "param": error.param, "code": error.code or default_code}}
    else:
        anthropic_type, anthropic_message = _ANTHROPIC.get(
            error.status, ("api_error" if error.status >= 500 else "invalid_request_error",
                           "An error occurred."))
        payload = {"type": "error",
                   "error": {"type": anthropic_type, "message": error.message or anthropic_message}}
    return Rendered(error.status, json.dumps(payload).encode(), "application/json", headers)


def stream_error_payload(provider: Provider) -> str:
    """The JSON of a mid-stream error event (a server error as each provider reports it)."""
    if provider == "openai":
        message, kind = _OPENAI[500][1], _OPENAI[500][0]
        return json.dumps({"error": {"message": message, "type": kind, "param": None, "code": None}})
    return json.dumps({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
