"""Calibration: the population (flawed solutions, nested profiles), Kendall's tau, the reuse of
verdicts the level cannot change, the recommendation, calibration.json, the heat map and the CLI.
No real grading here: a stand-in grader returns made-up records."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys
import threading
import time
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from faultfirst.calibrate import (
    SCHEMA,
    Calibration,
    CheckInfo,
    Graded,
    Member,
    Verdict,
    _sessions,
    _Slots,
    all_checks,
    base_level,
    calibrate,
    differing,
    draw_profiles,
    flaws_for,
    kendall_tau,
    merge,
    population,
    prepare_solution,
    table,
    to_regrade,
)
from faultfirst.catalogue import LEVELS, load_catalogue
from faultfirst.cli import main
from faultfirst.patching import PatchError, apply_patch, combine_patches, make_patch
from faultfirst.plot import colour, heatmap_svg

SVG = "{http://www.w3.org/2000/svg}"
CATALOGUE = {e.slug: e for e in load_catalogue()}


# --- Kendall's tau ---------------------------------------------------------------------------------

def test_tau_is_one_for_the_known_order_and_minus_one_reversed():
    known = [0, -1, -3, -5, -99]
    assert kendall_tau(known, [100, 90, 80, 70, 10]) == 1.0
    assert kendall_tau(known, [10, 70, 80, 90, 100]) == -1.0


def test_tau_counts_one_swap_of_five_as_point_eight():
    # 10 pairs, one discordant: (9 - 1) / 10
    assert kendall_tau([4, 3, 2, 1, 0], [100, 80, 90, 70, 10]) == pytest.approx(0.8)


def test_tau_b_counts_tied_scores_against_the_order():
    # reference and the 1-flaw profile tie: 5 concordant of 6 pairs, one tied in scores
    tau = kendall_tau([0, -1, -3, -4], [100, 100, 80, 10])
    assert tau == pytest.approx(5 / (6 * 5) ** 0.5)
    assert tau < 1.0
    assert kendall_tau([0, -1], [50, 50]) == 0.0


def test_tau_refuses_sequences_of_two_lengths():
    with pytest.raises(ValueError, match="one length"):
        kendall_tau([1, 2], [1])


# --- the population --------------------------------------------------------------------------------

def _flaw(root: Path, name: str, exercise: str, patch: str) -> None:
    folder = root / "flawed" / name
    folder.mkdir(parents=True)
    (folder / "flaw.toml").write_text(f'name = "{name}"\nexercise = "{exercise}"\n')
    (folder / "flaw.patch").write_text(patch)


def _patch_of(tmp_path: Path, lines: list[str], changes: dict[int, str], name: str = "a.py") -> str:
    base = tmp_path / "base"
    base.mkdir(exist_ok=True)
    (base / name).write_text("".join(lines))
    changed = list(lines)
    for index, text in changes.items():
        changed[index] = text
    return make_patch(base, {name: "".join(changed)})


LINES = [f"line {i}\n" for i in range(40)]


def test_only_the_chosen_exercises_flaws_are_drawn():
    retries = flaws_for(["retries"])
    assert retries and all(
        tomllib.loads((Path("solutions/flawed") / f / "flaw.toml").read_text())["exercise"] == "retries"
        for f in retries)
    members, _ = population(["retries"], seed=0)
    names = [m.name for m in members]
    assert names[0] == "reference" and names[-1] == "starter"
    assert {n.removeprefix("flawed/") for n in names if n.startswith("flawed/")} == set(retries)


def test_profiles_are_nested_seeded_and_apply_together(tmp_path):
    members, notes = population(list(CATALOGUE), seed=0)
    profiles = {m.name: m for m in members if m.kind == "profile"}
    assert sorted(len(m.flaws) for m in profiles.values()) == [1, 3, 5]
    one, three, five = sorted(profiles.values(), key=lambda m: len(m.flaws))
    assert five.flaws[:3] == three.flaws and three.flaws[:1] == one.flaws
    assert population(list(CATALOGUE), seed=0) == (members, notes)  # same seed, same draw
    assert population(list(CATALOGUE), seed=1)[0] != members
    folder = prepare_solution(five.name, ["retries"], "calm", tmp_path / "five", five.flaws)
    assert (folder / "litreview" / "__main__.py").is_file()


def test_a_flaw_touching_the_same_lines_is_skipped_with_a_note(tmp_path):
    root = tmp_path / "solutions"
    _flaw(root, "first", "retries", _patch_of(tmp_path, LINES, {5: "first\n"}))
    _flaw(root, "clash", "retries", _patch_of(tmp_path, LINES, {6: "clash\n"}))
    _flaw(root, "apart", "retries", _patch_of(tmp_path, LINES, {30: "apart\n"}))
    _flaw(root, "other", "citations", _patch_of(tmp_path, LINES, {20: "other\n"}))
    assert flaws_for(["retries"], root) == ["apart", "clash", "first"]
    for seed in range(6):
        profiles, notes = draw_profiles(flaws_for(["retries"], root), seed, (1, 2, 3), root)
        two = profiles["profile/2-flaws"].flaws
        assert "apart" in two and not {"first", "clash"} <= set(two)
        assert any("changes the same lines of a.py" in note for note in notes)
        assert "profile/3-flaws" not in profiles
        assert any("no profile of 3 flaws: only 2" in note for note in notes)


def test_patches_of_one_file_combine_unless_they_overlap(tmp_path):
    first = _patch_of(tmp_path, LINES, {5: "first\n"})
    second = _patch_of(tmp_path, LINES, {30: "second\n"})
    target = tmp_path / "target"
    target.mkdir()
    (target / "a.py").write_text("".join(LINES))
    apply_patch(target, combine_patches([second, first]))
    text = (target / "a.py").read_text().splitlines()
    assert text[5] == "first" and text[30] == "second" and len(text) == 40
    with pytest.raises(PatchError, match=r"a\.py: two of the patches change the same lines"):
        combine_patches([first, _patch_of(tmp_path, LINES, {7: "near\n"})])


# --- levels and what is regraded ---------------------------------------------------------------------

def test_the_numbers_of_an_exercise_differ_between_some_levels():
    chosen = [CATALOGUE["retries"], CATALOGUE["streaming"], CATALOGUE["batch"]]
    assert differing([CATALOGUE["deadlines"]], "calm", "hurricane") == ()
    assert differing(chosen, "calm", "stormy") == ()
    assert differing(chosen, "stormy", "hurricane") == ("streaming", "batch")


def test_the_base_level_leaves_the_fewest_checks_to_grade_again():
    everywhere, from_stormy = tuple(LEVELS), ("stormy", "hurricane")
    retries = [CATALOGUE["retries"]]
    checks = [CheckInfo("test_retries.py::a", everywhere), CheckInfo("test_retries.py::b", from_stormy)]
    assert base_level(["calm", "realistic", "stormy"], retries, checks) == "stormy"
    assert base_level(["calm", "realistic"], retries, checks[:1]) == "realistic"  # a tie: the harder
    # Streaming's numbers differ at hurricane: from stormy, only its check is graded again there;
    # from hurricane, it would be graded again at each of the three other levels.
    both = [*retries, CATALOGUE["streaming"]]
    streaming = CheckInfo("test_streaming.py::c", everywhere)
    assert base_level(list(LEVELS), both, [*checks, streaming]) == "stormy"
    assert CheckInfo("test_structured_output.py::d", everywhere).exercise == "structured-output"


def _verdict(name, exercise="retries", levels=tuple(LEVELS), verdict="pass", app_start=0):
    return Verdict(f"test_{exercise}.py::{name}", name, exercise, levels, verdict, app_start)


def test_only_the_soak_and_checks_new_at_the_level_are_regraded():
    base = [_verdict("test_mixed", "soak"),
            _verdict("test_plain"),
            _verdict("test_gated", levels=("stormy", "hurricane")),
            _verdict("test_calm_only", levels=("calm",), verdict="not-run"),
            _verdict("test_other_exercise", "batch", verdict="not-run")]
    assert to_regrade(base, "stormy", "calm", ["retries"]) == [
        "test_soak.py::test_mixed", "test_retries.py::test_calm_only"]
    assert to_regrade(base, "stormy", "hurricane", ["retries"]) == ["test_soak.py::test_mixed"]
    # Where the exercise's numbers differ, every check of it that counts there is graded again.
    assert to_regrade(base, "stormy", "hurricane", ["retries"], ["retries"]) == [
        "test_soak.py::test_mixed", "test_retries.py::test_plain", "test_retries.py::test_gated"]


def test_a_grading_splits_into_sessions_as_asked():
    ids = ["test_a.py::x", "test_b.py::y", "test_soak.py::s", "test_a.py::z"]
    assert _sessions(ids, "none") == [ids]
    assert _sessions(ids, "soak") == [["test_a.py::x", "test_b.py::y", "test_a.py::z"], ["test_soak.py::s"]]
    assert _sessions(ids, "modules") == [["test_a.py::x", "test_a.py::z"], ["test_b.py::y"],
                                         ["test_soak.py::s"]]


def test_sessions_wait_for_a_slot_and_the_references_go_first():
    slots = _Slots(2)
    order, inside, most = [], [0], [0]
    gate = threading.Event()

    def session(name, first=False):
        with slots.held(first=first):
            inside[0] += 1
            most[0] = max(most[0], inside[0])
            order.append(name)
            gate.wait(5)
            inside[0] -= 1

    holders = [threading.Thread(target=session, args=(f"early-{i}",)) for i in range(2)]
    for thread in holders:
        thread.start()
    _until(lambda: len(order) == 2)
    waiters = [threading.Thread(target=session, args=("other",)),
               threading.Thread(target=session, args=("reference", True))]
    for count, thread in enumerate(waiters, 1):
        thread.start()
        _until(lambda count=count: len(slots.waiting) == count)
    gate.set()
    for thread in holders + waiters:
        thread.join(10)
    assert most[0] == 2 and order[2:] in (["reference", "other"], ["other", "reference"])
    # Both slots came free at once, so both waiters may enter together; with one slot, the
    # reference's session is served before an earlier one of another solution.
    one = _Slots(1)
    served = []
    with one.held():
        late = [threading.Thread(target=lambda n=n, f=f: _hold(one, served, n, f))
                for n, f in (("other", False), ("reference", True))]
        for count, thread in enumerate(late, 1):
            thread.start()
            _until(lambda count=count: len(one.waiting) == count)
    for thread in late:
        thread.join(10)
    assert served == ["reference", "other"]


def _until(condition, limit_s=10.0):
    deadline = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < deadline, "the threads never got there"
        time.sleep(0.01)


def _hold(slots, served, name, first):
    with slots.held(first=first):
        served.append(name)


def test_merge_prefers_the_regraded_verdicts():
    base = [_verdict("test_mixed", "soak"), _verdict("test_plain")]
    fresh = [_verdict("test_mixed", "soak", verdict="fail"),
             _verdict("test_plain", verdict="not-run")]  # deselected at this level
    merged = merge(base, fresh, ["test_soak.py::test_mixed"])
    assert [(r.name, r.verdict) for r in merged] == [("test_mixed", "fail"), ("test_plain", "pass")]


# Three real checks (the unit tests grade nothing: the stand-in grader makes up their verdicts).
SOAK_ID = "test_soak.py::test_mixed_requests_under_the_levels_weather"
PLAIN_ID = "test_retries.py::test_backoff_is_jittered"
GATED_ID = "test_retries.py::test_retry_budget_limits_retries"  # counts from stormy up
STREAM_ID = "test_streaming.py::test_healthy_stream_is_complete"
REST = tuple(c.nodeid for c in all_checks() if c.exercise == "retries")  # a full grading, but the soak
STREAMING = tuple(c.nodeid for c in all_checks() if c.exercise == "streaming")
# Which start of the app served each check, and the lines each start ran (no-jitter's patch
# changes litreview/llm/retry.py line 28: the soak's start and the gated check's ran it).
STARTS = {PLAIN_ID: 1, GATED_ID: 2, SOAK_ID: 1, STREAM_ID: 3}
RAN = {1: {"litreview/llm/retry.py": [1, 2]}, 2: {"litreview/llm/retry.py": [28]}}
SOAK_RAN = {1: {"litreview/llm/retry.py": [28, 40]}}


class FakeGrader:
    """Records every grading; the soak fails at hurricane, a gated check fails for flawed ones."""

    def __init__(self, ran=None, soak_ran=None, streaming=False):
        self.calls = []
        self.streaming = streaming  # whether a streaming check is among the records too
        self.ran = RAN if ran is None else ran
        self.soak_ran = SOAK_RAN if soak_ran is None else soak_ran

    def __call__(self, folder, level, seed, out, only, coverage=False):
        name = folder.name.rsplit("-", 1)[0]
        self.calls.append((name, level, only))
        records = [Verdict(SOAK_ID, SOAK_ID.split("::")[1], "soak", tuple(LEVELS),
                           "fail" if level == "hurricane" else "pass"),
                   Verdict(PLAIN_ID, PLAIN_ID.split("::")[1], "retries", tuple(LEVELS),
                           "fail" if name == "starter" else "pass"),
                   Verdict(GATED_ID, GATED_ID.split("::")[1], "retries", ("stormy", "hurricane"),
                           "fail" if name.startswith(("flawed", "profile")) else "pass"),
                   Verdict(STREAM_ID, STREAM_ID.split("::")[1], "streaming", tuple(LEVELS), "pass")
                   ][:4 if self.streaming else 3]
        records = [dataclasses.replace(r, app_start=STARTS[r.nodeid])
                   for r in records if only is None or r.nodeid in only]
        soak = bool(only) and only[0] == SOAK_ID
        return Graded(0.0, tuple(records), (self.soak_ran if soak else self.ran) if coverage else None)


def rescore(records, exercises, level):
    counted = [r for r in records if r.exercise == "soak" or (r.exercise in exercises and level in r.levels
                                                              and r.verdict != "not-run")]
    return round(100 * sum(r.verdict == "pass" for r in counted) / len(counted), 1)


def test_calibrate_grades_the_base_level_fully_and_the_others_partly(tmp_path):
    grader = FakeGrader()
    lines = []
    result = calibrate(["calm", "stormy"], ["retries"], solutions=["reference", "starter"],
                       out=tmp_path, grader=grader, rescorer=rescore, on_progress=lines.append)
    # The soak is a session of its own, beside the other checks (the reference's, beside each
    # module's), and the base level's grading holds only the chosen exercises' checks.
    assert sorted(grader.calls) == [("reference", "calm", (SOAK_ID,)),
                                    ("reference", "stormy", REST), ("reference", "stormy", (SOAK_ID,)),
                                    ("starter", "calm", (SOAK_ID,)),
                                    ("starter", "stormy", REST), ("starter", "stormy", (SOAK_ID,))]
    assert result.scores == {"reference": {"calm": 100.0, "stormy": 100.0},
                             "starter": {"calm": 50.0, "stormy": 66.7}}
    assert len(lines) == 4 and lines[-1].startswith("[4/4] ") and "min left" in lines[-1]
    assert result.run["gradings_full"] == 2 and result.run["gradings_partial"] == 2
    assert result.run["verdicts_reused"] == 2  # the plain check at calm, twice


def test_a_level_where_an_exercises_numbers_differ_grades_only_its_checks_again(tmp_path):
    grader = FakeGrader(streaming=True)
    result = calibrate(["calm", "stormy", "hurricane"], ["retries", "streaming"],
                       solutions=["reference"], out=tmp_path, grader=grader, rescorer=rescore)
    # Every check of streaming counts at hurricane: all of them are graded again there.
    assert sorted(grader.calls) == [("reference", "calm", (SOAK_ID,)),
                                    ("reference", "hurricane", (SOAK_ID,)),
                                    ("reference", "hurricane", STREAMING),
                                    ("reference", "stormy", REST), ("reference", "stormy", (SOAK_ID,)),
                                    ("reference", "stormy", STREAMING)]
    assert result.run["base_levels"] == ["stormy"]
    assert result.run["numbers_differ"] == {"hurricane": ["streaming"]}


def test_a_flawed_solution_takes_the_references_verdicts_where_numbers_differ_too(tmp_path):
    ran = {**RAN, 3: {"litreview/llm/retry.py": [28]}}  # the stream check's start met the change
    grader = FakeGrader(ran=ran, streaming=True)
    result = calibrate(["calm", "stormy", "hurricane"], ["retries", "streaming"],
                       solutions=["reference", "flawed/no-jitter"], out=tmp_path, grader=grader,
                       rescorer=rescore)
    # Each level in one session: what the change met there (the soak's start ran it too).
    assert sorted(call for call in grader.calls if call[0] == "flawed-no-jitter") == [
        ("flawed-no-jitter", "calm", (SOAK_ID,)),
        ("flawed-no-jitter", "hurricane", (SOAK_ID, STREAM_ID)),
        ("flawed-no-jitter", "stormy", (GATED_ID, SOAK_ID, STREAM_ID))]
    # Its gated check's failure at stormy carries over to hurricane, where it was not graded.
    assert result.failed["flawed/no-jitter"]["hurricane"] == sorted(
        [GATED_ID.split("::")[1], SOAK_ID.split("::")[1]])


def test_a_flawed_solution_is_graded_only_where_its_app_ran_a_changed_line(tmp_path):
    grader = FakeGrader()
    result = calibrate(["calm", "stormy"], ["retries"], solutions=["reference", "flawed/no-jitter"],
                       out=tmp_path, grader=grader, rescorer=rescore)
    flawed = sorted(call for call in grader.calls if call[0] == "flawed-no-jitter")
    assert flawed == [("flawed-no-jitter", "calm", (SOAK_ID,)),
                      ("flawed-no-jitter", "stormy", (GATED_ID, SOAK_ID))]
    assert result.scores["flawed/no-jitter"] == {"calm": 100.0, "stormy": 66.7}
    assert result.failed["flawed/no-jitter"] == {"calm": [], "stormy": [GATED_ID.split("::")[1]]}
    assert result.run["verdicts_from_reference"] == 2  # the plain check at stormy and at calm


def test_a_change_no_check_ran_is_graded_only_in_the_soak(tmp_path):
    untouched = {1: {"litreview/llm/retry.py": [1]}, 2: {"litreview/llm/retry.py": [1]}}
    grader = FakeGrader(ran=untouched, soak_ran=untouched)
    result = calibrate(["calm", "stormy"], ["retries"], solutions=["reference", "flawed/no-jitter"],
                       out=tmp_path, grader=grader, rescorer=rescore)
    # Nothing, not even the soak: its start ran no changed line either.
    assert [call for call in grader.calls if call[0] == "flawed-no-jitter"] == []
    assert result.scores["flawed/no-jitter"] == result.scores["reference"]
    assert result.run["gradings_skipped"] == 2


def test_a_start_without_coverage_meets_every_change(tmp_path):
    grader = FakeGrader(ran={1: {"litreview/llm/retry.py": [1]}},  # start 2 saved nothing
                        soak_ran={1: {"litreview/llm/retry.py": [1]}})
    calibrate(["stormy"], ["retries"], solutions=["reference", "flawed/no-jitter"], out=tmp_path,
              grader=grader, rescorer=rescore)
    # (A calibration this small grades the soak beside the reference, without waiting.)
    assert sorted(call for call in grader.calls if call[0] == "flawed-no-jitter") == [
        ("flawed-no-jitter", "stormy", (GATED_ID,)), ("flawed-no-jitter", "stormy", (SOAK_ID,))]


def test_a_small_calibration_grades_the_soaks_beside_the_reference(tmp_path):
    """With slots to spare, a changed solution's soak does not wait for the reference's coverage:
    it is graded at once, even where the change turns out not to reach it."""
    untouched = {1: {"litreview/llm/retry.py": [1]}, 2: {"litreview/llm/retry.py": [1]}}
    grader = FakeGrader(ran=untouched, soak_ran=untouched)
    result = calibrate(["calm", "stormy"], ["retries"], solutions=["reference", "flawed/no-jitter"],
                       out=tmp_path, grader=grader, rescorer=rescore, jobs=4)
    assert sorted(call for call in grader.calls if call[0] == "flawed-no-jitter") == [
        ("flawed-no-jitter", "calm", (SOAK_ID,)), ("flawed-no-jitter", "stormy", (SOAK_ID,))]
    assert result.run["soak_gradings"] == 3  # and the reference's at calm, alone at that level
    assert result.run["gradings_skipped"] == 2
    assert result.scores["flawed/no-jitter"] == result.scores["reference"]


def test_without_reuse_every_level_is_graded_in_full(tmp_path):
    grader = FakeGrader()
    calibrate(["calm", "stormy"], ["retries"], solutions=["reference", "flawed/no-jitter"],
              out=tmp_path, grader=grader, rescorer=rescore, reuse=False)
    assert sorted(grader.calls) == sorted((name, level, ids) for name in ("flawed-no-jitter", "reference")
                                          for level in ("calm", "stormy") for ids in (REST, (SOAK_ID,)))


def test_the_prepared_solution_gets_the_levels_manifest_and_contract(tmp_path):
    folder = prepare_solution("reference", ["batch", "streaming"], "hurricane", tmp_path / "ref")
    manifest = tomllib.loads((folder / "faultfirst.toml").read_text())
    assert manifest["exercises"] == ["batch", "streaming"] and manifest["level"] == "hurricane"
    contract = tomllib.loads((folder / "contract.toml").read_text())
    assert contract["batch"]["max_in_flight"] == 3 and contract["streaming"]["first_event_s"] == 1.5


def _policy_module(folder: Path, monkeypatch):
    """The prepared solution's litreview/policy.py, imported under a name of its own."""
    name = f"policy_of_{folder.name}"
    spec = importlib.util.spec_from_file_location(name, folder / "litreview" / "policy.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_reference_reads_the_levels_numbers_as_a_candidate_app_would(tmp_path, monkeypatch):
    chosen = ["batch", "streaming"]
    calm = _policy_module(prepare_solution("reference", chosen, "calm", tmp_path / "c"), monkeypatch)
    storm = _policy_module(prepare_solution("reference", chosen, "hurricane", tmp_path / "h"),
                           monkeypatch)
    assert calm.Policy.for_session() == calm.Policy()
    hurricane = storm.Policy.for_session()
    assert (hurricane.batch_concurrency, hurricane.stream_first_event_s, hurricane.stream_idle_s,
            hurricane.stream_attempt_s) == (3, 1.5, 1.0, 0.75)
    (tmp_path / "h" / "contract.toml").write_text("[a]\nmax_attempts = 4\n[b]\nmax_attempts = 3\n")
    with pytest.raises(storm.PolicyError, match="max_attempts is both 4 and 3"):
        storm.Policy.for_session()


# --- figures, recommendation, json, table, plot ----------------------------------------------------

def made_up(levels=("calm", "realistic", "stormy")) -> Calibration:
    result = Calibration(levels, ("retries",), seed=3)
    result.members = {"profile/1-flaw": Member("profile/1-flaw", "profile", ("a",)),
                      "profile/2-flaws": Member("profile/2-flaws", "profile", ("a", "b"))}
    result.scores = {
        "reference": {"calm": 100.0, "realistic": 100.0, "stormy": 100.0},
        "profile/1-flaw": {"calm": 100.0, "realistic": 90.0, "stormy": 85.0},
        "profile/2-flaws": {"calm": 95.0, "realistic": 80.0, "stormy": 75.0},
        "flawed/a": {"calm": 100.0, "realistic": 85.0, "stormy": 80.0},
        "flawed/b": {"calm": 90.0, "realistic": 90.0, "stormy": 90.0},
        "starter": {"calm": 40.0, "realistic": 10.0, "stormy": 5.0},
    }
    return result


def test_the_recommended_level_has_the_best_tau_then_the_most_below_then_the_spread():
    result = made_up()
    assert result.ranked == ["reference", "profile/1-flaw", "profile/2-flaws", "starter"]
    assert result.tau("calm") < 1.0 and result.tau("realistic") == 1.0
    assert result.spread("stormy") == 25.0  # reference 100 - lowest profile 75: the starter left out
    assert result.recommend() == ("stormy", ("stormy",))  # tau 1 at both; stormy spreads wider


def test_a_tie_is_said_and_goes_to_the_calmer_level():
    result = made_up()
    for name in result.scores:
        result.scores[name]["stormy"] = result.scores[name]["realistic"]
    level, tied = result.recommend()
    assert (level, tied) == ("realistic", ("realistic", "stormy"))
    assert "levels realistic, stormy tie" in table(result)


def test_calibration_json_follows_its_schema():
    result = made_up()
    result.notes = ["a note"]
    result.failed = {"profile/2-flaws": {"realistic": ["test_a"], "stormy": ["test_a", "test_b"]}}
    data = json.loads(json.dumps(result.to_json()))
    assert data["schema"] == SCHEMA and data["seed"] == 3
    assert data["levels"] == ["calm", "realistic", "stormy"] and data["exercises"] == ["retries"]
    assert data["solutions"]["profile/2-flaws"] == {
        "kind": "profile", "flaws": ["a", "b"],
        "percent": {"calm": 95.0, "realistic": 80.0, "stormy": 75.0},
        "failed": {"calm": [], "realistic": ["test_a"], "stormy": ["test_a", "test_b"]}}
    assert data["solutions"]["flawed/b"]["kind"] == "flawed"
    assert data["known_order"] == ["reference", "profile/1-flaw", "profile/2-flaws", "starter"]
    assert set(data["discrimination"]["calm"]) == {"kendall_tau", "spread", "flawed_below_reference",
                                                   "flawed", "mean_loss"}
    assert data["discrimination"]["stormy"]["flawed_below_reference"] == 2
    assert data["recommendation"]["level"] == "stormy" and data["recommendation"]["tied"] == ["stormy"]
    assert data["notes"] == ["a note"] and isinstance(data["run"], dict)


def test_the_table_lists_profiles_with_their_flaws_and_the_figures():
    text = table(made_up())
    assert "| profile/2-flaws (a, b) | 2 | 95.0% | 80.0% | 75.0% |" in text
    assert "| starter | all | 40.0% | 10.0% | 5.0% |" in text
    assert "| flawed below reference | | 1/2 | 2/2 | 2/2 |" in text
    assert "Kendall's tau" in text and "Recommended level: stormy separates best" in text


def test_the_heat_map_has_a_cell_with_its_percent_per_solution_and_level():
    result = made_up()
    root = ET.fromstring(heatmap_svg(result))
    cells = [r for r in root.iter(f"{SVG}rect") if r.get("fill", "").startswith("#")
             and r.get("width") == "92"]
    assert len(cells) == 6 * 3
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert texts.count("100.0%") == 5 and "5.0%" in texts and "tau 1.00" in texts
    assert colour(0) == "#d73027" and colour(100) == "#1a9850" and colour(85) == "#fee08b"


@pytest.mark.parametrize(("args", "needle"), [
    (["--levels", "calm,breezy"], "unknown level(s) breezy; valid: calm"),
    (["--levels", "calm,calm"], "a level is named twice"),
    (["--jobs", "0"], "--jobs must be at least 1"),
    (["--exercises", "retries,nope"], "unknown exercise(s) nope; valid:"),
])
def test_calibrate_cli_refuses_bad_arguments(tmp_path, capsys, args, needle):
    assert main(["calibrate", *args, "--out", str(tmp_path)]) == 2
    assert needle in capsys.readouterr().err
