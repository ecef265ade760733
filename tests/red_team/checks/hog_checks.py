"""Row 10's checks: each passes when the grading's limits stopped the attack.

Copied by tests/test_red_team.py as ``test_hog.py``. An app killed by a limit counts as contained.
"""

from graders.checks.plugin import check
from graders.harness.inner.client import AppFailure


@check(exercise="retries", tag="correctness", points=1, time_limit_s=90)
def test_row10_memory_hogs(app, evidence):
    """Four processes of 1.2 GB each, held at once."""
    try:
        answer = app.post("/hogs", timeout_s=80).json
    except AppFailure as failure:
        evidence.observed(f"the app was stopped: {failure}")
        return
    evidence.observed(str(answer))
    assert answer["held_at_once"] < 4, (
        "row 10 (memory) got through: four processes held 1.2 GB each at once "
        f"({answer})")


@check(exercise="retries", tag="correctness", points=1, time_limit_s=60, fresh_app=True)
def test_row10_fork_bomb(app, evidence):
    """Forking until something says no (the bomb gives up by itself at 3000 children)."""
    try:
        answer = app.post("/bomb", timeout_s=50).json
    except AppFailure as failure:
        evidence.observed(f"the app was stopped: {failure}")
        return
    evidence.observed(str(answer))
    assert answer["error"] is not None, (
        f"row 10 (processes) got through: the fork bomb made {answer['forked']} processes, "
        "stopped only by its own cap")


@check(exercise="retries", tag="correctness", points=1, fresh_app=True)
def test_row10_grading_goes_on(app):
    """After the hogs and the bomb, a fresh app still starts and answers."""
    assert app.get("/health").status == 200, "the app did not answer after the hogs and the bomb"
