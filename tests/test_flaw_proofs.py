"""solutions/flaw_proofs: each proven flaw fails its own proof; the reference passes them all.

The proofs pin flaws that the hidden checks miss (``uncaught`` in their flaw.toml), so that a
flaw stays a real flaw even while no check catches it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from faultfirst.solutions import KIT_ROOT, SOLUTIONS_DIR, materialize

PROOFS = SOLUTIONS_DIR / "flaw_proofs" / "test_flaw_proofs.py"
RUN_LIMIT_S = 120  # a cap against a hang; a run takes about a second
PROVEN = sorted(set(re.findall(r"^def test_(\w+)\(", PROOFS.read_text(encoding="utf-8"), re.M)))


def failed_proofs(name: str, tmp_path: Path, only: str | None = None) -> set[str]:
    """The proofs (all, or ``only`` that one) that fail in solution ``name``, by flaw (``test_``
    and parameters dropped)."""
    app = materialize(name, tmp_path / "app")
    shutil.copy(PROOFS, app / "tests" / PROOFS.name)
    env = {**os.environ, "PYTHONPATH": str(KIT_ROOT)}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rf", "-p", "no:cacheprovider",
         f"tests/{PROOFS.name}" + (f"::test_{only}" if only else "")],
        cwd=app, env=env, capture_output=True, text=True, timeout=RUN_LIMIT_S, check=False,
    )
    assert run.returncode in (0, 1), run.stdout[-2000:] + run.stderr[-2000:]
    return set(re.findall(r"^FAILED \S+::test_(\w+?)(?:\[.*\])? ", run.stdout, re.M))


def test_the_reference_passes_every_proof(tmp_path: Path) -> None:
    assert failed_proofs("reference", tmp_path) == set()


@pytest.mark.parametrize("proof", PROVEN)
def test_a_proven_flaw_fails_its_proof(proof: str, tmp_path: Path) -> None:
    flaw = proof.replace("_", "-")
    assert (SOLUTIONS_DIR / "flawed" / flaw).is_dir(), f"the proof {proof} names no flawed solution"
    assert failed_proofs(f"flawed/{flaw}", tmp_path, only=proof) == {proof}
