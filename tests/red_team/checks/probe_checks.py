"""The red team's checks for the probe app: each passes only when its attack was contained.

Copied by tests/test_red_team.py into a checks folder as ``test_probe.py``, beside ``params.json``
(paths and names chosen by the test). The failure message of each says which attack got through.
"""

import json
import os
import time
from pathlib import Path

from graders.checks.plugin import check

PARAMS = json.loads(Path(__file__).with_name("params.json").read_text())
WAIT_S = 120.0


def _leaks(answers, allowed_paths):
    """Paths whose content or listing reached the app (beyond the folders it may pass through)."""
    allowed = [Path(p) for p in allowed_paths]

    def may_see(path):  # an interpreter folder, inside one, or on the way to one
        return any(path == a or path in a.parents or a in path.parents for a in allowed)

    leaks = []
    for path, seen in answers.items():
        if may_see(Path(path)) and seen["kind"] != "dir":
            continue
        if seen["kind"] == "file":
            leaks.append(f"{path} (read)")
        elif seen["kind"] == "dir":
            extra = [name for name in seen["entries"] if not may_see(Path(path, name))]
            if extra:
                leaks.append(f"{path} (listed: {', '.join(extra[:8])})")
    return leaks


# --- row 6 first: the victim grading runs at the same time and waits for this one ----------------

@check(exercise="retries", tag="correctness", points=1, time_limit_s=WAIT_S + 30)
def test_row6_neighbour_grading(app, evidence):
    """Another grading's app: its processes, environment, memory and submission copy."""
    rendezvous = Path(PARAMS["rendezvous"])
    try:
        deadline = time.monotonic() + WAIT_S
        while not (rendezvous / "victim.json").is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert (rendezvous / "victim.json").is_file(), "the victim grading never started its app"
        time.sleep(0.2)
        victim = json.loads((rendezvous / "victim.json").read_text())
        seen = {path: app.post("/neighbours", {"tag": "redteam-victim-app", "secret_file": path},
                               timeout_s=30).json
                for path in dict.fromkeys([victim["secret_file"], victim["host_secret_file"]])}
    finally:
        (rendezvous / "attacker-done").touch()
    evidence.observed(json.dumps(seen)[:4000])
    copies = {path: answer["victim_copy"] for path, answer in seen.items()}
    seen = next(iter(seen.values()))
    problems = []
    if seen["victims"]:
        problems.append(f"the victim's process is visible in /proc: {sorted(seen['victims'])}")
    for pid, attempt in seen["victims"].items():
        if "environ" in attempt:
            problems.append(f"read the victim's environment (/proc/{pid}/environ)")
        if "mem_bytes" in attempt:
            problems.append(f"read the victim's memory (/proc/{pid}/mem)")
    problems += [f"read the victim's submission copy ({path})"
                 for path, copy in copies.items() if copy["read"]]
    # Whether the two run as distinct user IDs on the host is read from the gradings' reports (an
    # app in a user namespace cannot see its host ID); here: neither is root even to itself.
    if 0 in (seen["uid"], victim["uid"]):
        problems.append("an app runs as root")
    strangers = sorted({line for line in seen["visible"].values()
                        if any(word in line for word in PARAMS["grader_words"])})
    if strangers:
        problems.append(f"/proc shows the grader's processes: {strangers[:3]}")
    assert not problems, "row 6 (concurrent gradings) got through: " + "; ".join(problems)


# --- row 3 --------------------------------------------------------------------------------------

@check(exercise="retries", tag="correctness", points=1)
def test_row3_hidden_material(app, evidence):
    """The kit's hidden folders, another checkout of the kit, the host's private files."""
    answers = app.post("/read", {"paths": PARAMS["secret_paths"] + [PARAMS["own_file"]]}).json
    own = answers.pop(PARAMS["own_file"])
    assert own["kind"] == "file", f"the probe could not read its own copy ({own}): the probe is broken"
    leaks = _leaks(answers, PARAMS["allowed_paths"])
    evidence.observed("\n".join(leaks) or "nothing hidden was readable")
    assert not leaks, "row 3 (hidden material) got through: the app read " + "; ".join(leaks)


# --- row 5 --------------------------------------------------------------------------------------

@check(exercise="retries", tag="correctness", points=1)
def test_row5_fake_llm_headers(app, evidence):
    """No x-fake-llm-* header tells the app which fault it met."""
    headers = app.post("/llm").json["headers"]
    leaked = sorted(name for name in headers if name.lower().startswith("x-fake-llm"))
    evidence.observed(json.dumps(headers)[:2000])
    assert "error" not in headers, f"the probe could not reach the fake LLM: {headers}"
    assert not leaked, f"row 5 (fake LLM headers) got through: the app saw {leaked}"


@check(exercise="retries", tag="correctness", points=1)
def test_row5_fake_llm_health(app, evidence):
    """The fake's /health says nothing of the profile or the seed."""
    health = app.post("/llm").json["health"]
    evidence.observed(health[:2000])
    try:
        body = json.loads(health)
    except ValueError:
        body = {}
    keys = sorted(key for key in body if isinstance(body, dict) and key.lower() in ("profile", "seed"))
    assert not keys, f"row 5 (fake LLM /health) got through: it shows {keys}: {health[:200]}"


@check(exercise="retries", tag="correctness", points=1)
def test_row5_environment(app, evidence):
    """The app's environment does not tell it it is being graded."""
    env = app.post("/llm").json["env"]
    evidence.observed(json.dumps(env))
    telling = {name: value for name, value in env.items() if value in ("grader-key", "candidate")}
    assert not telling, f"row 5 (environment) got through: the app's environment has {telling}"


# --- row 7 --------------------------------------------------------------------------------------

@check(exercise="retries", tag="correctness", points=1)
def test_row7_host_temp_folders(app, evidence):
    """Files the app writes to /tmp, /var/tmp and /dev/shm never reach the host's."""
    written = app.post("/write", {"paths": PARAMS["temp_markers"]}).json
    evidence.observed(json.dumps(written))
    on_host = [path for path in PARAMS["temp_markers"] if os.path.exists(path)]
    assert not on_host, f"row 7 (host temp folders) got through: the app wrote {on_host} on the host"


@check(exercise="retries", tag="correctness", points=1, time_limit_s=60)
def test_row7_temp_size_cap(app, evidence):
    """The app's /tmp is capped: it cannot write a whole GiB there."""
    limit = PARAMS["fill_bytes"]
    filled = app.post("/fill", {"dir": PARAMS["fill_dir"], "limit_bytes": limit}, timeout_s=50).json
    evidence.observed(json.dumps(filled))
    assert filled["written"] < limit, (
        f"row 7 (temp size cap) got through: the app wrote {filled['written']} bytes to /tmp")


# --- row 8 --------------------------------------------------------------------------------------

@check(exercise="retries", tag="correctness", points=1)
def test_row8_host_unix_socket(app, evidence):
    """A unix socket in the host's /tmp is out of reach."""
    tried = app.post("/unix", {"path": PARAMS["unix_socket"]}).json
    evidence.observed(json.dumps(tried))
    assert not tried["connected"], (
        f"row 8 (host unix socket) got through: the app connected to {PARAMS['unix_socket']}")


# --- row 2: what the grader cannot read is the app's fail ---------------------------------------

@check(exercise="retries", tag="parsing", points=1)
def test_row2_deep_json(app):
    """The app answers 200 with 200 000 nested brackets instead of {"ok": true}."""
    body = app.get("/deep").json
    assert isinstance(body, dict) and body.get("ok") is True, "the app did not answer {\"ok\": true}"


@check(exercise="retries", tag="parsing", points=1)
def test_row2_huge_number(app):
    """The app answers {"ok": <a 5000-digit number>} instead of {"ok": true}."""
    body = app.get("/huge").json
    assert isinstance(body, dict) and body.get("ok") is True, "the app did not answer {\"ok\": true}"


@check(exercise="retries", tag="streaming", points=1)
def test_row2_deep_json_stream(app):
    """The app streams one event whose data is 200 000 nested brackets."""
    events = app.stream("/deep-stream", {})
    assert [event.data for event in events] == [{"ok": True}], "the app did not stream {\"ok\": true}"


# --- row 12: its text reaches the terminal through a failed check's "why" -----------------------

@check(exercise="retries", tag="correctness", points=1)
def test_row12_escapes_in_why(app):
    """The app answers an error code full of terminal escapes; the check shows it in its why."""
    response = app.get("/escape")
    assert response.code == "ok", f"the app answered {response.status} with code {response.code}"


# --- row 4 last: a GiB answer -------------------------------------------------------------------

@check(exercise="retries", tag="correctness", points=1, time_limit_s=90)
def test_row4_one_gib_body(app):
    """The app answers one request with a 1 GiB body, fast."""
    body = app.get("/big", timeout_s=80).json
    assert isinstance(body, dict) and body.get("ok") is True, "the app did not answer {\"ok\": true}"
