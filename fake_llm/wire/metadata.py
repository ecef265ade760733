"""The endpoints about models and requests rather than answers: model lists and token counting.

They are free and immediate, as a provider's are: not subject to chaos, not in the ledger.
"""

from __future__ import annotations

import json
from typing import Any

from fake_llm.errors import ApiError
from fake_llm.model import count_tokens
from fake_llm.pricing import models_of
from fake_llm.wire.anthropic import AnthropicWire
from fake_llm.wire.base import parse_json_body
from fake_llm.wire.params import check_params

CREATED = 1_700_000_000
CREATED_AT = "2023-11-14T22:13:20Z"  # the same instant, as Anthropic writes it
MAX_PAGE = 1000


def openai_models() -> dict[str, Any]:
    """``GET /v1/models``: the OpenAI-side models, chat and embedding."""
    return {"object": "list", "data": [
        {"id": m.name, "object": "model", "created": CREATED, "owned_by": f"fake-{m.provider}"}
        for m in models_of("openai")]}


def _anthropic_model(name: str, display_name: str) -> dict[str, Any]:
    return {"type": "model", "id": name, "display_name": display_name, "created_at": CREATED_AT}


def anthropic_model(model_id: str) -> dict[str, Any]:
    """``GET /anthropic/v1/models/{model_id}``; a 404 in Anthropic's shape for an unknown id."""
    for m in models_of("anthropic"):
        if m.name == model_id:
            return _anthropic_model(m.name, m.display_name or m.name)
    raise ApiError(404, f"model: {model_id}")


def anthropic_models(limit: str | None = None, before_id: str | None = None,
                     after_id: str | None = None) -> dict[str, Any]:
    """``GET /anthropic/v1/models``: one page of the Anthropic-side models, newest first."""
    try:
        size = 20 if limit is None else int(limit)
    except ValueError:
        raise ApiError(400, "limit: Input should be a valid integer") from None
    if not 1 <= size <= MAX_PAGE:
        raise ApiError(400, f"limit: Input should be between 1 and {MAX_PAGE}")
    if before_id is not None and after_id is not None:
        raise ApiError(400, "before_id and after_id cannot both be given")
    models = [_anthropic_model(m.name, m.display_name or m.name) for m in models_of("anthropic")]
    ids = [m["id"] for m in models]
    start, stop = 0, len(models)
    for cursor, name in ((after_id, "after_id"), (before_id, "before_id")):
        if cursor is not None and cursor not in ids:
            raise ApiError(400, f"{name}: unknown model id {cursor!r}")
    if after_id is not None:
        start = ids.index(after_id) + 1
    if before_id is not None:
        stop = ids.index(before_id)
        start = max(0, stop - size)
    page = models[start : min(stop, start + size)]
    more = (start + len(page) < len(models)) if before_id is None else start > 0
    return {"data": page, "has_more": more, "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None}


def anthropic_count_tokens(raw: bytes) -> dict[str, int]:
    """``POST /anthropic/v1/messages/count_tokens``: the ``input_tokens`` that the same request to
    ``/v1/messages`` would report in its usage. The body is a messages request without
    ``max_tokens``, validated by the messages wire."""
    body = parse_json_body(raw, ApiError(400, "There was an issue with your request body: it is not "
                                              "valid JSON."))
    check_params("anthropic-count-tokens", body)
    _, parsed = AnthropicWire().parse(json.dumps({**body, "max_tokens": 1}).encode())
    return {"input_tokens": count_tokens(parsed.text)}
