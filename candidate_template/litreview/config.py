"""Settings, read once from the environment.

=========================  =========================================  ============================
variable                   meaning                                    default
=========================  =========================================  ============================
``LLM_BASE_URL``           primary provider, OpenAI wire format       ``http://127.0.0.1:8900/v1``
``LLM_API_KEY``            key sent to the primary provider           ``sk-local``
``LLM_MODEL``              primary model                              ``sim-gpt-large``
``LLM_EMBEDDING_MODEL``    primary provider's embedding model         ``sim-embed-small``
``LLM_FALLBACK_BASE_URL``  secondary provider, Anthropic wire format  unset: no secondary
``LLM_FALLBACK_API_KEY``   key sent to the secondary provider         ``sk-local``
``LLM_FALLBACK_MODEL``     secondary model                            ``sim-claude-large``
``LLM_TOKEN_BUDGET``       tokens one user request may spend          ``4000``
=========================  =========================================  ============================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_BASE_URL = "http://127.0.0.1:8900/v1"
DEFAULT_API_KEY = "sk-local"
DEFAULT_MODEL = "sim-gpt-large"
DEFAULT_EMBEDDING_MODEL = "sim-embed-small"
DEFAULT_FALLBACK_MODEL = "sim-claude-large"
DEFAULT_TOKEN_BUDGET = 4000


class ConfigError(ValueError):
    """An environment variable holds a value the app cannot use; the message names it."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the app reads from its environment. URLs never end in a slash."""

    llm_base_url: str = DEFAULT_BASE_URL
    llm_api_key: str = DEFAULT_API_KEY
    llm_model: str = DEFAULT_MODEL
    llm_embedding_model: str = DEFAULT_EMBEDDING_MODEL
    fallback_base_url: str | None = None
    fallback_api_key: str = DEFAULT_API_KEY
    fallback_model: str = DEFAULT_FALLBACK_MODEL
    token_budget: int = DEFAULT_TOKEN_BUDGET

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``env`` (default ``os.environ``); unset or empty variables keep defaults.

        Raises :class:`ConfigError` for a value the app cannot use.
        """
        source = os.environ if env is None else env

        def get(name: str, default: str) -> str:
            return source.get(name) or default

        fallback_url = source.get("LLM_FALLBACK_BASE_URL") or None
        return cls(
            llm_base_url=get("LLM_BASE_URL", DEFAULT_BASE_URL).rstrip("/"),
            llm_api_key=get("LLM_API_KEY", DEFAULT_API_KEY),
            llm_model=get("LLM_MODEL", DEFAULT_MODEL),
            llm_embedding_model=get("LLM_EMBEDDING_MODEL", DEFAULT_EMBEDDING_MODEL),
            fallback_base_url=fallback_url.rstrip("/") if fallback_url else None,
            fallback_api_key=get("LLM_FALLBACK_API_KEY", DEFAULT_API_KEY),
            fallback_model=get("LLM_FALLBACK_MODEL", DEFAULT_FALLBACK_MODEL),
            token_budget=_positive_int(
                "LLM_TOKEN_BUDGET", get("LLM_TOKEN_BUDGET", str(DEFAULT_TOKEN_BUDGET))
            ),
        )


def _positive_int(name: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, got {value}")
    return value
