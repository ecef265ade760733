"""The simulated models: which provider serves each, what it costs, how fast it is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Provider = Literal["openai", "anthropic"]
PROVIDERS: tuple[Provider, ...] = ("openai", "anthropic")


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One simulated model. Prices are US dollars per million tokens."""

    name: str
    provider: Provider
    input_usd_per_mtok: float
    output_usd_per_mtok: float
    latency_factor: float
    description: str

    def cost_usd(self, tokens_in: int, tokens_out: int) -> float:
        """What a request with these token counts costs."""
        return (tokens_in * self.input_usd_per_mtok + tokens_out * self.output_usd_per_mtok) / 1e6


MODELS: dict[str, ModelInfo] = {
    m.name: m
    for m in (
        ModelInfo("sim-gpt-large", "openai", 2.50, 10.00, 1.0, "large, slower, accurate"),
        ModelInfo("sim-gpt-mini", "openai", 0.15, 0.60, 0.4, "small, fast, cheap, more content mistakes"),
        ModelInfo("sim-claude-large", "anthropic", 3.00, 15.00, 1.2, "large, slower, accurate"),
        ModelInfo("sim-claude-mini", "anthropic", 0.80, 4.00, 0.5,
                  "small, fast, cheap, more content mistakes"),
    )
}


def models_of(provider: Provider) -> list[ModelInfo]:
    """The models one provider serves."""
    return [m for m in MODELS.values() if m.provider == provider]
