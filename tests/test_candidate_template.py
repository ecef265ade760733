"""candidate_template/: the starter every candidate receives works, and is weak where it should be.

The starter's visible tests pass (against the calm fake, as a candidate runs them); its corpus is
the fake's public fields; its manifest starts it; its README renders; and it keeps each bug an
exercise targets (``solutions/starter_checks``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import httpx
import jinja2
import pytest

from fake_llm.corpus import corpus
from faultfirst.solutions import KIT_ROOT, SOLUTIONS_DIR, TEMPLATE_DIR, materialize

RUN_LIMIT_S = 120  # a generous cap: the run takes seconds; this only stops a hang


def run_pytest(app_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``pytest`` in a materialized app, with the kit's root on the path for ``fake_llm``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(app_dir), str(KIT_ROOT)])}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=app_dir, env=env, capture_output=True, text=True, timeout=RUN_LIMIT_S,
    )


@pytest.fixture(scope="module")
def starter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return materialize("starter", tmp_path_factory.mktemp("starter") / "app")


def test_the_visible_tests_pass(starter: Path) -> None:
    result = run_pytest(starter)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout


def test_the_starter_keeps_the_bugs_the_exercises_target(starter: Path, tmp_path: Path) -> None:
    app = shutil.copytree(starter, tmp_path / "app")
    shutil.copy(SOLUTIONS_DIR / "starter_checks" / "test_starter_weaknesses.py", app / "tests")
    result = run_pytest(app, "tests/test_starter_weaknesses.py")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_corpus_is_the_fakes_public_fields() -> None:
    shipped = json.loads((TEMPLATE_DIR / "litreview" / "data" / "papers.json").read_text())
    assert shipped == [paper.public() for _, paper in sorted(corpus().items())]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_the_manifest_starts_the_app(starter: Path) -> None:
    manifest = tomllib.loads((starter / "faultfirst.toml").read_text())
    assert manifest["exercises"] == []
    port = free_port()
    command = manifest["command"].format(port=port).split()
    env = {**os.environ, "PYTHONPATH": str(starter)}
    process = subprocess.Popen(
        [sys.executable if word == "python" else word for word in command],
        cwd=starter, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        give_up_at = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}{manifest['health']}", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, "the app exited"
                assert time.monotonic() < give_up_at, "the app did not come up"
                time.sleep(0.05)
        assert response.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_readme_renders_with_the_candidates_exercises() -> None:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    template = env.from_string((TEMPLATE_DIR / "README.md.j2").read_text())
    text = template.render(
        candidate_name="Ada", level="stormy",
        exercises=[{"slug": "retries", "title": "Retry politely", "minutes": 45}],
    )
    assert "Welcome, Ada." in text
    assert "python -m fake_llm serve --profile stormy" in text
    assert "`exercises/retries/brief.md`" in text
