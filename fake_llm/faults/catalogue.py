"""The fault catalogue: importing every fault module registers each kind, in catalogue order."""

from __future__ import annotations

from typing import Any

from fake_llm.faults import citations, content, http, stream, timing, tools, transport
from fake_llm.faults.base import FAMILIES, REGISTRY, Fault

MODULES = (citations, content, http, stream, timing, tools, transport)


def fault_kinds() -> dict[str, type[Fault]]:
    """Every registered fault kind, by name, grouped by family in catalogue order."""
    order = {family: rank for rank, family in enumerate(FAMILIES)}
    return dict(sorted(REGISTRY.items(), key=lambda item: order[item[1].family]))


def make_fault(spec: dict[str, Any]) -> Fault:
    """Build a fault from ``{"kind": ..., **params}``; raises ``KeyError`` or ``ValidationError``."""
    params = dict(spec)
    kind = params.pop("kind")
    return fault_kinds()[kind](**params)
