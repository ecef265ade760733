"""The simulated models: which provider serves each, what it costs, how fast it is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Provider = Literal["openai", "anthropic"]
PROVIDERS: tuple[Provider, ...] = ("openai", "anthropic")
ModelKind = Literal["chat", "embedding"]


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One simulated model. Prices are US dollars per million tokens.

    ``kind``: a ``chat`` model answers chat completions, the Responses API and messages; an
    ``embedding`` model answers ``/v1/embeddings`` only, with vectors of ``dimensions`` floats.
    """

    name: str
    provider: Provider
    input_usd_per_mtok: float
    output_usd_per_mtok: float
    latency_factor: float
    description: str
    kind: ModelKind = "chat"
    dimensions: int = 0
    display_name: str = ""

    def cost_usd(self, tokens_in: int, tokens_out: int) -> float:
        """What a request with these token counts costs."""
        return (tokens_in * self.input_usd_per_mtok + tokens_out * self.output_usd_per_mtok) / 1e6


MODELS: dict[str, ModelInfo] = {
    m.name: m
    for m in (
        ModelInfo("sim-gpt-large", "openai", 2.50, 10.00, 1.0, "large, slower, accurate"),
        ModelInfo("sim-gpt-mini", "openai", 0.15, 0.60, 0.4, "small, fast, cheap, more content mistakes"),
        ModelInfo("sim-claude-large", "anthropic", 3.00, 15.00, 1.2, "large, slower, accurate",
                  display_name="Sim Claude Large"),
        ModelInfo("sim-claude-mini", "anthropic", 0.80, 4.00, 0.5,
                  "small, fast, cheap, more content mistakes", display_name="Sim Claude Mini"),
        ModelInfo("sim-embed-small", "openai", 0.02, 0.0, 0.2, "embeddings, 512 dimensions",
                  kind="embedding", dimensions=512),
        ModelInfo("sim-embed-large", "openai", 0.13, 0.0, 0.3, "embeddings, 1536 dimensions",
                  kind="embedding", dimensions=1536),
    )
}


def models_of(provider: Provider, kind: ModelKind | None = None) -> list[ModelInfo]:
    """The models one provider serves (of one kind, if given)."""
    return [m for m in MODELS.values() if m.provider == provider and kind in (None, m.kind)]
