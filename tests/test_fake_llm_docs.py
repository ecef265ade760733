"""docs/fake-llm.md names every fault kind, every fault parameter and every knob."""

from __future__ import annotations

from pathlib import Path

import pytest

from fake_llm.faults import fault_kinds
from fake_llm.pricing import MODELS
from fake_llm.profiles import LEVELS, RateLimitKnobs, StreamKnobs

DOC = (Path(__file__).parents[1] / "docs" / "fake-llm.md").read_text()


@pytest.mark.parametrize("kind", list(fault_kinds()))
def test_every_fault_and_parameter_is_documented(kind):
    assert f"| `{kind}` |" in DOC
    for name in fault_kinds()[kind].model_fields:
        assert f"`{name}`" in DOC, f"{kind}.{name}"


def test_every_knob_model_and_level_is_documented():
    for prefix, model in (("stream", StreamKnobs), ("rate_limit", RateLimitKnobs)):
        for name in model.model_fields:
            assert f"`{prefix}.{name}`" in DOC
    for name in (*MODELS, *LEVELS):
        assert f"`{name}`" in DOC
