"""The OpenAI Embeddings wire format (``POST /v1/embeddings``).

An embeddings request goes down the same path as a chat request (fate, ledger, faults), with the
task ``embed``: timing, HTTP and transport faults apply to it; content and stream faults do not, as
there is no text to spoil and nothing streams. Its usage is its input tokens alone.

A wire object holds one request's inputs, so the route makes a new one per request.
"""

from __future__ import annotations

import base64
import struct
from typing import Any

from fake_llm.conversation import ToolCall
from fake_llm.embeddings import embed
from fake_llm.errors import ApiError
from fake_llm.model import Prompt
from fake_llm.pricing import ModelInfo
from fake_llm.wire.base import Answer, ParsedRequest, Wire, parse_json_body, require_model
from fake_llm.wire.openai import BAD_JSON, model_errors
from fake_llm.wire.params import check_params

MAX_INPUTS = 2048


_model_error = model_errors(
    lambda name: ApiError(400, f"The model `{name}` does not support embeddings; use an embedding "
                                 "model such as `sim-embed-small`.", param="model", code="invalid_value"))


def _inputs(value: Any) -> list[str]:
    """The texts to embed: a string or a list of strings (token arrays are not emulated)."""
    if value is None:
        raise ApiError(400, "Missing required parameter: 'input'.", param="input",
                       code="missing_required_parameter")
    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, list) or not texts:
        raise ApiError(400, "Invalid 'input': expected a non-empty string or a non-empty array of "
                            "strings.", param="input", code="invalid_value")
    if len(texts) > MAX_INPUTS:
        raise ApiError(400, f"Invalid 'input': array too long. Expected an array with maximum length "
                            f"{MAX_INPUTS}, but got an array with length {len(texts)} instead.",
                       param="input", code="array_above_max_length")
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise ApiError(400, f"Invalid 'input[{index}]': token arrays are not emulated by the fake "
                                "LLM; send text.", param="input", code="unsupported_value")
        if not text:
            raise ApiError(400, f"Invalid 'input[{index}]': the string must not be empty.",
                           param="input", code="invalid_value")
    return texts


def _dimensions(value: Any, model: ModelInfo) -> int:
    if value is None:
        return model.dimensions
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, "Invalid type for 'dimensions': expected an integer.", param="dimensions",
                       code="invalid_type")
    if not 1 <= value <= model.dimensions:
        raise ApiError(400, f"Invalid 'dimensions': {value}. The model `{model.name}` gives 1 to "
                            f"{model.dimensions} dimensions.", param="dimensions", code="invalid_value")
    return value


class EmbeddingsWire(Wire):
    """Embeddings: one plain JSON list of vectors; never streamed."""

    provider = "openai"
    id_prefix = "chatcmpl-"  # as every OpenAI answer's id was before the wires split

    def __init__(self) -> None:
        self.inputs: list[str] = []
        self.dimensions = 0
        self.encoding = "float"

    def parse(self, raw: bytes) -> tuple[dict[str, Any], ParsedRequest]:
        body = parse_json_body(raw, BAD_JSON)
        check_params("openai-embeddings", body)
        model = require_model(body.get("model"), _model_error, kind="embedding")
        self.inputs = _inputs(body.get("input"))
        self.dimensions = _dimensions(body.get("dimensions"), model)
        encoding = body.get("encoding_format", "float")
        if encoding not in ("float", "base64"):
            raise ApiError(400, f"Invalid value for 'encoding_format': {encoding!r}. Supported values "
                                "are: 'float' and 'base64'.", param="encoding_format",
                           code="invalid_value")
        self.encoding = encoding
        return body, ParsedRequest(model, "\n".join(self.inputs), False, True, None)

    def read_prompt(self, parsed: ParsedRequest) -> Prompt:
        return Prompt(task="embed", paper_ids=(), sources=(), text=parsed.text)

    def _vector(self, text: str) -> list[float] | str:
        vector = embed(text, self.dimensions)
        if self.encoding == "base64":
            return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
        return vector

    def body(self, model: ModelInfo, answer: Answer) -> dict[str, Any]:
        data = [{"object": "embedding", "index": index, "embedding": self._vector(text)}
                for index, text in enumerate(self.inputs)]
        return {"object": "list", "data": data, "model": model.name,
                "usage": {"prompt_tokens": answer.tokens_in, "total_tokens": answer.tokens_in}}

    # An embeddings request never streams: its fate has no stream, so these are never called.
    def stream_head(self, model: ModelInfo, answer: Answer) -> list[bytes]:
        raise AssertionError("embeddings never stream")

    def stream_piece(self, model: ModelInfo, answer: Answer, piece: str) -> bytes:
        raise AssertionError("embeddings never stream")

    def stream_tail(self, model: ModelInfo, answer: Answer, include_usage: bool) -> list[bytes]:
        raise AssertionError("embeddings never stream")

    def stream_call(self, model: ModelInfo, answer: Answer, index: int, call: ToolCall,
                    size: int) -> list[bytes]:
        """No frames: embeddings never stream and never call tools."""
        return []

    def stream_truncated_tail(self) -> list[bytes]:
        raise AssertionError("embeddings never stream")

    def stream_error(self) -> bytes:
        raise AssertionError("embeddings never stream")
