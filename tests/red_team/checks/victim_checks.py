"""Row 6's victim side: say who the app is, then wait while the probe app tries to read it.

Copied by tests/test_red_team.py as ``test_victim.py`` beside ``params.json``.
"""

import json
import time
from pathlib import Path

from graders.checks.plugin import check
from graders.harness.inner import context

PARAMS = json.loads(Path(__file__).with_name("params.json").read_text())
WAIT_S = 150.0


@check(exercise="retries", tag="correctness", points=1, time_limit_s=WAIT_S + 10)
def test_row6_victim_is_up_while_the_neighbour_looks(app, evidence):
    """The victim's app stays up until the probe app has tried to read it."""
    me = app.get("/whoami").json
    grading = context.current()
    cwd = getattr(getattr(getattr(grading, "apps", None), "spec", None), "cwd", None)
    host_file = str(Path(cwd) / "redteam_victim" / "SECRET.txt") if cwd else me["secret_file"]
    rendezvous = Path(PARAMS["rendezvous"])
    (rendezvous / "victim.tmp").write_text(json.dumps({**me, "host_secret_file": host_file}))
    (rendezvous / "victim.tmp").rename(rendezvous / "victim.json")
    evidence.observed(json.dumps(me))
    deadline = time.monotonic() + WAIT_S
    while not (rendezvous / "attacker-done").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (rendezvous / "attacker-done").exists(), "the probe grading never came to look"
    assert app.get("/health").status == 200, "the victim's app died while its neighbour looked"
