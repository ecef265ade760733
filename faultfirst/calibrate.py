"""Calibration: grade a population of known solutions at each level and find the level that
tells them apart.

**The population.** The starter (every skill missing), the reference (none missing), each flawed
solution whose flaw belongs to a chosen exercise (the reference minus one skill), and synthetic
*profiles*: the reference minus several flaws at once. The profiles are nested: a seeded draw
orders the chosen exercises' flaws, and the profile of *k* flaws holds the first *k* of them that
apply together (their patches touch different lines; :func:`faultfirst.patching.combine_patches`),
so the profile of five holds the three of the profile of three, which holds the one of the profile
of one. Their skill order is known: reference, 1 flaw, 3, 5, starter.

**Discrimination, per level.** Kendall's tau-b between that known order and the scores (1.0: the
scores rank them exactly; ties in score count against it), the spread (the reference's score
minus the lowest profile's), how many single-flaw solutions score below the
reference, and their mean loss. :meth:`Calibration.recommend` picks the level with the highest
tau, then the most flawed solutions below the reference, then the widest spread, then the largest
mean loss, and says when levels tie on all four (then the calmer one, which grades faster and
leans less on chance).

**Grading once what the level cannot change.** Every check scripts its own faults over a quiet
catch-all rule and sees only its own exercise's numbers (the ``contract`` fixture), so a check's
verdict can differ between two levels only if the check is the soak (it runs in the level's own
weather), counts at one level and not at the other, or its exercise's numbers (its part of
``contract.toml``) differ between them. One level is graded with every check (the one that leaves
the fewest to grade again: :func:`base_level`), and each other level only with the soak and those
checks (``grade(..., only=...)``); the other verdicts are reused. This leans on one property of
the solutions calibrated, all of them the kit's own: an app reads an exercise's numbers only in
the code that serves that exercise (the reference's ``policy.py`` loads them, and only the batch
route reads the batch cap, only the stream route the stream limits). ``bench/calibration.py
--verify`` compares the whole table with one graded in full at every level.

**Grading once what the change cannot change.** A flawed solution or a profile is the reference
with a patch. The reference is graded under coverage, and a check whose start of the app ran no
line the patch changes (:mod:`faultfirst.impact`) keeps the reference's verdict; the others, with
every check of the same start, are graded for real. The soak of such a solution is graded at once,
beside the reference, since it meets nearly every change; every soak runs as a session of its own
beside the other checks.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import heapq
import itertools
import json
import math
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fake_llm.profiles import LEVELS
from faultfirst.catalogue import Exercise, load_catalogue
from faultfirst.export import contract_text, template_hash, write_session_files
from faultfirst.impact import Change, change_between
from faultfirst.patching import PatchError, apply_patch, combine_patches, overlap
from faultfirst.solutions import (
    FLAW_PATCH,
    FLAWED_PREFIX,
    REFERENCE,
    SOLUTIONS_DIR,
    STARTER,
    materialize,
)

PROFILE_PREFIX = "profile/"
PROFILE_SIZES = (5, 3, 1)
SCHEMA = "faultfirst-calibration/1"
SOAK = "soak"
_START_OFFSET = 10_000  # between the app starts of gradings run side by side (:func:`_joined`)
# The libraries every start of the kit's solutions imports (about 0.35 CPU s of each start):
# calibration grades with them imported once per grading, each start forked from there
# (``grade(preload=...)``, :mod:`graders.harness.inner.start_host`).
PRELOAD = ("fastapi", "fastapi.responses", "pydantic", "httpx", "anyio", "uvicorn", "uvicorn.main",
           "uvicorn.config", "uvicorn.server", "uvicorn.lifespan.on", "uvicorn.loops.auto",
           "uvicorn.loops.asyncio", "uvicorn.protocols.http.auto",
           "uvicorn.protocols.http.httptools_impl", "uvicorn.protocols.http.h11_impl",
           "uvicorn.protocols.websockets.auto", "asyncio")
# Grading sessions at once, per core: each mostly waits on its fake LLM's clock. Measured on two
# cores (docs/calibration.md): 20 keep the CPU busy and every verdict where it is alone; about
# 100 starved correct apps.
SESSIONS_PER_CORE = 10
# A calibration of at most this many (solution, level) gradings per session slot is small: its
# changed solutions' soaks run beside the reference (see :func:`calibrate`).
SMALL_RUN = 2
STARTER_FLAWS = math.inf  # the starter misses every skill: below any profile in the known order


@dataclass(frozen=True, slots=True)
class Verdict:
    """One check's outcome, as the reuse logic needs it (a graders CheckRecord fits)."""

    nodeid: str
    name: str
    exercise: str
    levels: tuple[str, ...]
    verdict: str
    app_start: int = 0


@dataclass(frozen=True, slots=True)
class Graded:
    """One grading's outcome: the score (percent), the records it produced, and (when asked
    for) the lines each start of the app ran: ``{start: {path: lines}}``."""

    percent: float
    records: tuple[Any, ...]
    coverage: Mapping[int, Mapping[str, Sequence[int]]] | None = None


# (app folder, level, seed, out dir, the node ids to grade (None: all), coverage?) -> Graded
Grader = Callable[[Path, str, int, Path, "tuple[str, ...] | None", bool], Graded]
Rescorer = Callable[[Sequence[Any], Sequence[str], str], float]


@dataclass(frozen=True, slots=True)
class Member:
    """One solution of the population: its name, kind and the flaws it holds."""

    name: str
    kind: str  # starter, reference, flawed, profile
    flaws: tuple[str, ...] = ()

    @property
    def flaw_count(self) -> float:
        return STARTER_FLAWS if self.kind == STARTER else len(self.flaws)


@dataclass
class Calibration:
    """Scores (percent) by solution and level, the population and the discrimination figures."""

    levels: tuple[str, ...]
    exercises: tuple[str, ...]
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    members: dict[str, Member] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seed: int = 0
    run: dict[str, Any] = field(default_factory=dict)  # timings and grading counts (vary by run)
    failed: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # name -> level -> checks

    def member(self, name: str) -> Member:
        if name in self.members:
            return self.members[name]
        if name in (STARTER, REFERENCE):
            return Member(name, name)
        if name.startswith(FLAWED_PREFIX):
            return Member(name, "flawed", (name.removeprefix(FLAWED_PREFIX),))
        return Member(name, "profile")

    @property
    def flawed(self) -> list[str]:
        return [name for name in self.scores if self.member(name).kind == "flawed"]

    @property
    def ranked(self) -> list[str]:
        """The solutions of known skill order: reference, profiles, starter (most skilled first)."""
        names = [n for n in self.scores if self.member(n).kind in (REFERENCE, "profile", STARTER)]
        return sorted(names, key=lambda n: self.member(n).flaw_count)

    def gap(self, level: str) -> tuple[int, float]:
        """(flawed solutions scoring below the reference, mean points-percent they lose)."""
        reference = self.scores[REFERENCE][level]
        losses = [reference - self.scores[name][level] for name in self.flawed]
        below = sum(1 for loss in losses if loss > 0)
        return below, statistics.fmean(losses) if losses else 0.0

    def tau(self, level: str) -> float | None:
        """Kendall's tau-b between the known skill order and the scores at ``level`` (None with
        fewer than two ranked solutions)."""
        ranked = self.ranked
        if len(ranked) < 2:
            return None
        return kendall_tau([-self.member(n).flaw_count for n in ranked],
                           [self.scores[n][level] for n in ranked])

    def spread(self, level: str) -> float:
        """Highest minus lowest score of the reference and the profiles at ``level`` (the starter,
        low at every level, would hide how far apart the profiles are)."""
        values = [self.scores[n][level] for n in self.ranked if self.member(n).kind != STARTER]
        return max(values) - min(values) if values else 0.0

    def figures(self, level: str) -> dict[str, Any]:
        """The discrimination figures of one level (as in calibration.json)."""
        below, mean_loss = self.gap(level) if REFERENCE in self.scores else (0, 0.0)
        tau = self.tau(level)
        return {"kendall_tau": None if tau is None else round(tau, 4),
                "spread": round(self.spread(level), 1),
                "flawed_below_reference": below, "flawed": len(self.flawed),
                "mean_loss": round(mean_loss, 1)}

    def _key(self, level: str) -> tuple[float, int, float, float]:
        figures = self.figures(level)
        tau = figures["kendall_tau"]
        return (-2.0 if tau is None else tau, figures["flawed_below_reference"], figures["spread"],
                figures["mean_loss"])

    def recommend(self) -> tuple[str, tuple[str, ...]]:
        """(the level that separates best, every level tied with it on all figures). Ties go to
        the calmer level."""
        best = max(self._key(level) for level in self.levels)
        tied = tuple(level for level in self.levels if self._key(level) == best)
        return tied[0], tied

    def best_level(self) -> str:
        return self.recommend()[0]

    def to_json(self) -> dict[str, Any]:
        """The calibration as ``calibration.json`` holds it (docs/calibration.md, the schema)."""
        level, tied = self.recommend()
        solutions = {}
        for name, scores in self.scores.items():
            member = self.member(name)
            solutions[name] = {"kind": member.kind, "flaws": list(member.flaws),
                               "percent": {lv: scores[lv] for lv in self.levels},
                               "failed": {lv: self.failed.get(name, {}).get(lv, [])
                                          for lv in self.levels}}
        return {
            "schema": SCHEMA, "seed": self.seed, "exercises": list(self.exercises),
            "levels": list(self.levels), "solutions": solutions,
            "known_order": self.ranked,
            "discrimination": {lv: self.figures(lv) for lv in self.levels},
            "recommendation": {"level": level, "tied": list(tied),
                               "reason": recommendation_text(self)},
            "notes": list(self.notes), "run": dict(self.run),
        }


def kendall_tau(known: Sequence[float], scores: Sequence[float]) -> float:
    """Kendall's tau-b of two equally long sequences: +1 when ``scores`` rank the items as
    ``known`` does, -1 when exactly reversed; pairs tied in one sequence count as neither
    concordant nor discordant, and shrink the denominator (tau-b). 0.0 when either sequence is
    constant."""
    if len(known) != len(scores):
        raise ValueError(f"kendall_tau needs sequences of one length, got {len(known)} and {len(scores)}")
    concordant = discordant = tied_known = tied_scores = 0
    for i in range(len(known)):
        for j in range(i + 1, len(known)):
            a, b = known[i] - known[j], scores[i] - scores[j]
            if a == 0 and b == 0:
                continue
            if a == 0:
                tied_known += 1
            elif b == 0:
                tied_scores += 1
            elif (a > 0) == (b > 0):
                concordant += 1
            else:
                discordant += 1
    denominator = math.sqrt((concordant + discordant + tied_known)
                            * (concordant + discordant + tied_scores))
    return (concordant - discordant) / denominator if denominator else 0.0


def recommendation_text(calibration: Calibration) -> str:
    level, tied = calibration.recommend()
    figures = calibration.figures(level)
    why = (f"tau {figures['kendall_tau']}, {figures['flawed_below_reference']}/{figures['flawed']} "
           f"flawed below the reference, spread {figures['spread']:.1f} points")
    if len(tied) > 1:
        return (f"levels {', '.join(tied)} tie ({why}); {level} is the calmest of them, so it grades "
                "faster and leans less on chance")
    return f"{level} separates best ({why})"


# --- the population ------------------------------------------------------------------------------

def flaws_for(exercises: Iterable[str], solutions_dir: Path = SOLUTIONS_DIR) -> list[str]:
    """The flaws (folder names) whose exercise is one of ``exercises``, in name order."""
    import tomllib

    chosen = set(exercises)
    found = []
    for folder in sorted((solutions_dir / "flawed").iterdir()):
        spec = folder / "flaw.toml"
        if spec.is_file() and tomllib.loads(spec.read_text(encoding="utf-8")).get("exercise") in chosen:
            found.append(folder.name)
    return found


def _patch(flaw: str, solutions_dir: Path) -> str:
    return (solutions_dir / "flawed" / flaw / FLAW_PATCH).read_text(encoding="utf-8")


def draw_profiles(flaws: Sequence[str], seed: int, sizes: Sequence[int] = PROFILE_SIZES,
                  solutions_dir: Path = SOLUTIONS_DIR) -> tuple[dict[str, Member], list[str]]:
    """Nested profiles of ``sizes`` flaws drawn from ``flaws`` with ``random.Random(seed)``, and
    notes on what was skipped.

    The flaws are shuffled, then taken in turn; a flaw whose patch touches lines another taken
    flaw touches is skipped (with a note), so the flaws of a profile always apply together. The
    profile of *k* is the first *k* taken; a size larger than the flaws that fit is left out,
    with a note.
    """
    order = list(flaws)
    random.Random(seed).shuffle(order)
    taken: list[str] = []
    notes: list[str] = []
    for flaw in order:
        if len(taken) == max(sizes, default=0):
            break
        clash = next(((other, where) for other in taken
                      if (where := overlap(_patch(flaw, solutions_dir), _patch(other, solutions_dir)))),
                     None)
        if clash is not None:
            notes.append(f"profile draw skipped {flaw}: it changes the same lines of {clash[1]} as "
                         f"{clash[0]}")
            continue
        taken.append(flaw)
    profiles = {}
    for size in sorted(set(sizes)):
        if size > len(taken):
            notes.append(f"no profile of {size} flaws: only {len(taken)} of the chosen exercises' "
                         "flaws apply together")
            continue
        name = f"{PROFILE_PREFIX}{size}-flaw{'s' if size > 1 else ''}"
        profiles[name] = Member(name, "profile", tuple(taken[:size]))
    return profiles, notes


def population(exercises: Sequence[str], seed: int, solutions: Sequence[str] | None = None,
               solutions_dir: Path = SOLUTIONS_DIR) -> tuple[list[Member], list[str]]:
    """The solutions to grade, most skilled first (reference, profiles, flawed, starter), and the
    notes of the profile draw. ``solutions`` narrows it to those names."""
    flaws = flaws_for(exercises, solutions_dir)
    profiles, notes = draw_profiles(flaws, seed, solutions_dir=solutions_dir)
    members = [Member(REFERENCE, REFERENCE),
               *sorted(profiles.values(), key=lambda m: len(m.flaws)),
               *(Member(FLAWED_PREFIX + flaw, "flawed", (flaw,)) for flaw in flaws),
               Member(STARTER, STARTER)]
    if solutions is not None:
        wanted = set(solutions)
        members = [m for m in members if m.name in wanted]
    return members, notes


def prepare_solution(name: str, exercises: Sequence[str], level: str, dest: Path,
                     flaws: Sequence[str] = ()) -> Path:
    """Materialize a known solution as the candidate repo made for ``exercises`` at ``level``
    would hold it: its manifest and the level's ``contract.toml``. ``flaws``: for a profile, the
    flaws whose patches go on the reference together."""
    catalogue = {e.slug: e for e in load_catalogue()}
    chosen = [catalogue[slug] for slug in exercises]
    if name.startswith(PROFILE_PREFIX):
        folder = materialize(REFERENCE, dest)
        try:
            apply_patch(folder, combine_patches(_patch(flaw, SOLUTIONS_DIR) for flaw in flaws))
        except PatchError as error:
            raise PatchError(f"profile {name} ({', '.join(flaws)}): {error}") from None
    else:
        folder = materialize(name, dest)
    write_session_files(folder, chosen, level, template_hash())
    return folder


# --- grading, and reusing what the level or the change cannot change -------------------------------

def section(exercise: Exercise, level: str) -> str:
    """An exercise's numbers at ``level``: its part of ``contract.toml`` (without the level's name)."""
    return contract_text([exercise], level).split("\n", 2)[-1]


def differing(exercises: Sequence[Exercise], first: str, second: str) -> tuple[str, ...]:
    """The exercises whose numbers differ between two levels."""
    return tuple(e.slug for e in exercises if section(e, first) != section(e, second))


def base_level(levels: Sequence[str], exercises: Sequence[Exercise],
               checks: Sequence[CheckInfo]) -> str:
    """The level graded with every check: the one that leaves the fewest checks to grade again
    at the other levels (:func:`to_regrade`); ties: the hardest, which is last."""
    slugs = {e.slug for e in exercises}
    mine = [c for c in checks if c.exercise in slugs]

    def left(base: str) -> int:
        total = 0
        for level in (lv for lv in levels if lv != base):
            other = differing(exercises, base, level)
            total += sum(1 for check in mine if level in check.levels
                         and (base not in check.levels or check.exercise in other))
        return total

    return min(enumerate(levels), key=lambda item: (left(item[1]), -item[0]))[1]


def to_regrade(base: Sequence[Verdict], base_name: str, level: str,
               exercises: Sequence[str], differ: Iterable[str] = ()) -> list[str]:
    """The checks whose verdict at ``level`` cannot be taken from the grading at ``base_name``:
    the soak, every check of ``exercises`` that counts at ``level`` but did not run at the base,
    and every check that counts at ``level`` of an exercise in ``differ`` (its numbers differ
    between the two levels). Their node ids, in order."""
    other = set(differ)
    ids = []
    for record in base:
        if record.exercise != SOAK and record.exercise not in exercises:
            continue
        counts_here = level in record.levels
        ran_at_base = record.verdict != "not-run" and base_name in record.levels
        if record.exercise == SOAK or (counts_here and (not ran_at_base or record.exercise in other)):
            ids.append(record.nodeid)
    return ids


def merge(base: Sequence[Any], regraded: Sequence[Any], ids: Iterable[str]) -> list[Any]:
    """The records of a level: the regraded ones for the node ids ``ids`` (and any other the
    grading ran for real), the base grading's for the rest."""
    wanted = set(ids)
    fresh = {r.nodeid: r for r in regraded if r.nodeid in wanted or r.verdict != "not-run"}
    known = {b.nodeid for b in base}
    return [fresh.get(r.nodeid, r) for r in base] + [r for n, r in fresh.items() if n not in known]


def grade_records(folder: Path, level: str, seed: int, out: Path, only: tuple[str, ...] | None,
                  coverage: bool = False) -> Graded:
    """Grade one folder with the hidden checks (``only``: those node ids, or all; ``coverage``:
    the lines each start of the app ran, for :mod:`faultfirst.impact`)."""
    from graders.harness import grade

    # A start forked from a host saves its imports but pays the host's: only a grading with
    # several starts gains (a soak's has one).
    several = only is None or not all(_is_soak(nodeid) for nodeid in only)
    result = grade(folder, level=level, seed=seed, out_dir=out, only=only, coverage=coverage,
                   preload=PRELOAD if several else ())
    if result.status != "graded":
        raise RuntimeError(f"grading {folder} at {level} failed ({result.status}): {result.message}")
    return Graded(round(result.score.percent, 1), tuple(c.record for c in result.score.checks),
                  result.coverage)


def rescore(records: Sequence[Any], exercises: Sequence[str], level: str) -> float:
    from graders.harness.report.scoring import score_records

    return round(score_records(records, exercises, level).percent, 1)


class Progress:
    """``n/N, elapsed, ~time left`` of the gradings, on a stream (stderr); the time left from
    the mean duration of full and partial gradings so far."""

    def __init__(self, total: int, write: Callable[[str], None]) -> None:
        self.total, self.write = total, write
        self.done = 0
        self.started = time.monotonic()
        self.durations: dict[str, list[float]] = {"full": [], "partial": []}
        self.left = {"full": 0, "partial": 0}
        self.lock = threading.Lock()

    def plan(self, kind: str, count: int = 1) -> None:
        with self.lock:
            self.left[kind] += count

    def finished(self, kind: str, seconds: float, what: str) -> None:
        with self.lock:
            self.done += 1
            self.left[kind] -= 1
            self.durations[kind].append(seconds)
            elapsed = time.monotonic() - self.started
            self.write(f"[{self.done}/{self.total}] {elapsed / 60:.1f} min elapsed, "
                       f"~{self.estimate() / 60:.1f} min left  {what} ({seconds:.0f} s)")

    def estimate(self) -> float:
        means = {k: statistics.fmean(v) for k, v in self.durations.items() if v}
        fallback = statistics.fmean(means.values()) if means else 0.0
        work = sum(n * means.get(kind, fallback) for kind, n in self.left.items())
        elapsed = time.monotonic() - self.started
        spent = sum(sum(v) for v in self.durations.values())
        parallel = spent / elapsed if elapsed > 0 and spent > 0 else 1.0  # gradings at once, measured
        return work / max(1.0, parallel)


@dataclass
class _Plan:
    """One member's gradings at one group of levels: the base level first, then the others."""

    member: Member
    group: list[str]
    base: str
    change: Change | None = None  # None: graded as it is (the reference, or reuse is off)


@dataclass
class _Reference:
    """The reference's gradings, by level, and what its starts ran (for the change reuse)."""

    graded: dict[str, Graded] = field(default_factory=dict)  # the grading made at each level
    records: dict[str, list[Any]] = field(default_factory=dict)  # each level's records, merged
    lines: dict[str, dict[str, set[int]] | None] = field(default_factory=dict)  # by check node id

    def ran(self, level: str) -> list[Any]:
        return [r for r in self.graded[level].records if r.verdict != "not-run"]

    def learn_lines(self) -> None:
        """Each check's lines: the union over the reference's gradings of what its start ran
        (None when a start saved no coverage: such a check meets every change)."""
        for graded in self.graded.values():
            for record in graded.records:
                if record.verdict == "not-run" or not record.app_start:
                    continue
                ran = (graded.coverage or {}).get(record.app_start)
                if ran is None or self.lines.get(record.nodeid, {}) is None:
                    self.lines[record.nodeid] = None
                    continue
                merged = self.lines.setdefault(record.nodeid, {})
                assert merged is not None
                for path, numbers in ran.items():
                    merged.setdefault(path, set()).update(numbers)

    def met(self, level: str, change: Change) -> list[str]:
        """The node ids to grade again at ``level`` for ``change``: every check the reference's
        grading at that level ran on a start that meets the change, with the other checks of
        that start (so the app sees the same checks in the same order as in a full grading)."""
        ran = self.ran(level)
        starts = {r.app_start for r in ran
                  if r.nodeid in self.lines and change.met_by(self.lines[r.nodeid])}
        return [r.nodeid for r in ran if r.app_start in starts]


def calibrate(levels: Sequence[str], exercises: Sequence[str] | None = None,
              solutions: Sequence[str] | None = None, seed: int = 0, out: Path | None = None,
              grader: Grader = grade_records, rescorer: Rescorer = rescore,
              on_score: Callable[[str, str, float], None] | None = None,
              on_progress: Callable[[str], None] | None = None,
              jobs: int = 1, reuse: bool = True) -> Calibration:
    """Grade the population (:func:`population`) at each level; reports under
    ``out/<solution>/<level>``.

    At most ``jobs`` grading sessions run at once, the reference's first (each mostly waits on
    the fake LLM's clock, and every check judges time on that clock, with generous upper bounds;
    but a machine too busy makes a correct app late). ``reuse=False`` grades every member at
    every level with every check (to verify both reuses).
    """
    for level in levels:
        if level not in LEVELS:
            raise ValueError(f"unknown level {level!r}; allowed: {', '.join(LEVELS)}")
    catalogue = {e.slug: e for e in load_catalogue()}
    slugs = tuple(exercises or catalogue)
    chosen = [catalogue[slug] for slug in slugs]
    members, notes = population(slugs, seed, solutions)
    result = Calibration(tuple(levels), slugs, {m.name: {} for m in members},
                         {m.name: m for m in members}, notes, seed)
    groups = [list(levels)] if reuse else [[level] for level in levels]
    bases = [group[0] if len(group) == 1 else base_level(group, chosen, all_checks()) for group in groups]
    differ = {(base, level): differing(chosen, base, level) for group, base in zip(groups, bases, strict=True)
              for level in group}
    progress = Progress(len(members) * len(levels), on_progress or (lambda line: None))
    progress.plan("full", len(members) * len(groups))
    progress.plan("partial", len(members) * (len(levels) - len(groups)))
    out = out or Path(tempfile.mkdtemp(prefix="faultfirst-calibrate-"))
    counts = {"full": 0, "partial": 0, "soak": 0, "skipped": 0, "reused_verdicts": 0,
              "from_reference": 0}
    lock = threading.Lock()
    reference = _Reference()
    slots = _Slots(max(1, jobs))

    with tempfile.TemporaryDirectory(prefix="faultfirst-solutions-") as work:

        def graded(member: Member, level: str, only: list[str] | None, *, kind: str,
                   apart: str = "soak") -> Graded:
            """One grading of ``only`` (None: every check), as sessions run side by side:
            ``apart="soak"`` runs the soak (the longest check) beside the other checks,
            ``"modules"`` each module too (the reference's gradings, which every other waits
            for), ``"none"`` everything in one session (when the machine is busy anyway, a
            session less is CPU spared). ``kind``: full or partial (on the progress line)."""
            safe = member.name.replace("/", "-")
            own = Path(tempfile.mkdtemp(dir=work))  # a member's gradings run at once
            folder = prepare_solution(member.name, slugs, level, own / f"{safe}-{level}",
                                      member.flaws if member.kind == "profile" else ())
            ids = list(only) if only is not None else [c.nodeid for c in all_checks()
                                                        if c.exercise in (SOAK, *slugs)]
            sessions = _sessions(ids, apart)
            started = time.monotonic()
            coverage = reuse and member.kind == REFERENCE

            def session(part: list[str]) -> Graded:
                name = "soak" if _is_soak(part[0]) else part[0].split("::")[0].removesuffix(".py")
                folder_out = out / safe / level / (name if len(sessions) > 1 else "")
                with slots.held(first=member.kind == REFERENCE):
                    return grader(folder, level, seed, folder_out, tuple(part), coverage)

            with ThreadPoolExecutor(max_workers=len(sessions)) as side_by_side:
                parts = list(side_by_side.map(session, sessions))
            with lock:
                counts[kind] += 1
                counts["soak"] += kind != "soak" and all(_is_soak(i) for i in ids)
            if kind != "soak":  # a soak graded early: its level's grading is counted apart
                progress.finished(kind, time.monotonic() - started, f"{member.name} at {level}")
            return _joined(parts)

        def scored(plan: _Plan, level: str, records: Sequence[Any], reused: int,
                   kind: str | None = None) -> tuple[str, str, float]:
            if kind is not None:  # nothing was graded for this level
                progress.finished(kind, 0.0, f"{plan.member.name} at {level} (all reused)")
            lost = sorted(r.name for r in records if r.verdict == "fail" and level in r.levels
                          and (r.exercise == SOAK or r.exercise in slugs))
            with lock:
                counts["reused_verdicts" if plan.change is None else "from_reference"] += reused
                result.failed.setdefault(plan.member.name, {})[level] = lost
            return plan.member.name, level, rescorer(records, slugs, level)

        def as_it_is(plan: _Plan) -> list[tuple[str, str, float]]:
            """Every check at the base level; at the others, only what the level can change
            (known from the checks' declarations, so every level is graded at once)."""
            member, base = plan.member, plan.base
            others = [lv for lv in plan.group if lv != base]
            declared = _declared(slugs)
            ids = {level: to_regrade(declared, base, level, slugs, differ[base, level])
                   for level in others}
            apart = "modules" if member.kind == REFERENCE else "soak"
            done = _at_once(lambda level: graded(member, level, None if level == base else ids[level],
                                                 kind="full" if level == base else "partial",
                                                 apart=apart),
                            [base, *(level for level in others if ids[level])])
            first = done[base]
            if member.kind == REFERENCE:
                reference.graded[base], reference.records[base] = first, list(first.records)
            scores = [scored(plan, base, first.records, 0)]
            for level in others:
                missing = [i for i in to_regrade(first.records, base, level, slugs, differ[base, level])
                           if i not in ids[level]]  # a check the base did not run after all
                if missing:
                    progress.plan("partial")
                    extra = graded(member, level, missing, kind="partial")
                    done[level] = _joined([done[level], extra]) if level in done else extra
                    ids[level] = [*ids[level], *missing]
                if not ids[level]:
                    scores.append(scored(plan, level, first.records, _counted(first.records, level),
                                         kind="partial"))
                    continue
                records = merge(first.records, done[level].records, ids[level])
                if member.kind == REFERENCE:
                    reference.graded[level], reference.records[level] = done[level], records
                fresh = {r.nodeid for r in done[level].records if r.verdict != "not-run"}
                reused = sum(1 for r in first.records if r.verdict != "not-run"
                             and r.nodeid not in fresh and level in r.levels)
                scores.append(scored(plan, level, records, reused))
            return scores

        def soaks(plan: _Plan) -> dict[str, Graded]:
            """The member's soak at every level at once, graded without waiting for the reference
            (on a machine with slots to spare: the soak is the longest check)."""
            return _at_once(lambda level: graded(plan.member, level, soak_ids(), kind="soak"),
                            plan.group)

        def changed(plan: _Plan, early: Future[dict[str, Graded]] | None) -> list[tuple[str, str, float]]:
            """The reference's verdicts, but for the soak (``early``, or where the change reaches
            it) and the checks whose app ran a changed line: at every level at once, each level
            in one session."""
            assert plan.change is not None
            member, base, scores = plan.member, plan.base, []
            order = [base, *(lv for lv in plan.group if lv != base)]
            ids = {level: [i for i in reference.met(level, plan.change)
                           if early is None or not _is_soak(i)] for level in order}
            again = _at_once(lambda level: graded(member, level, ids[level],
                                                  kind="full" if level == base else "partial",
                                                  apart="none"),
                             [level for level in order if ids[level]])
            mine: dict[str, list[Any]] = {}
            for level in order:
                # At the base, the reference's verdicts; at another level of the group, this
                # member's own from the base, but the reference's for what the level changes.
                start = (reference.records[level] if level == base else
                         merge(mine[base], reference.graded[level].records,
                               [r.nodeid for r in reference.ran(level)]))
                if ids[level]:
                    mine[level] = merge(start, again[level].records, ids[level])
                else:
                    mine[level] = list(start)
                    with lock:
                        counts["skipped"] += 1
                    progress.finished("full" if level == base else "partial", 0.0,
                                      f"{member.name} at {level} (the reference's verdicts)")
                reused = _counted(start, level) - len(ids[level])
                if early is not None:
                    mine[level] = merge(mine[level], early.result()[level].records, soak_ids())
                    reused -= len(soak_ids())
                scores.append(scored(plan, level, mine[level], reused))
            return scores

        def to_grade(plan: _Plan) -> int:
            assert plan.change is not None
            return sum(len(reference.met(level, plan.change)) for level in plan.group)

        plans = [_Plan(member, list(group), base) for member in members
                 for group, base in zip(groups, bases, strict=True)]
        if reuse:
            changes = _changes([p.member for p in plans if _may_reuse(p.member)], slugs, levels[0],
                               Path(work) / "compare")
            for plan in plans:
                plan.change = changes.get(plan.member.name)
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            def record(futures: Iterable[Any]) -> None:
                for future in as_completed(list(futures)):
                    for name, level, score in future.result():
                        result.scores[name][level] = score
                        if on_score is not None:
                            on_score(name, level, score)

            # The reference first (every change reuse waits on its gradings), then the members
            # graded as they are (the starter first: its gradings are the longest); then the
            # others, where the reference says.
            whole = sorted((p for p in plans if p.change is None),
                           key=lambda p: (p.member.kind != REFERENCE, p.member.kind != STARTER))
            futures = {id(p): pool.submit(as_it_is, p) for p in whole}
            # A small calibration leaves slots free while the reference is graded: the others'
            # soaks are graded then (in a large one, each soak waits and is skipped where the
            # change does not reach it).
            small = len(plans) * len(levels) <= SMALL_RUN * max(1, jobs)
            early = {id(p): pool.submit(soaks, p) for p in plans if small and p.change is not None}
            record(futures.pop(id(p)) for p in whole if p.member.kind == REFERENCE)
            reference.learn_lines()
            # The others with the most to grade again first, so that the last to finish are short.
            rest = sorted((p for p in plans if p.change is not None), key=lambda p: -to_grade(p))
            record([*futures.values(), *(pool.submit(changed, p, early.get(id(p))) for p in rest)])
    result.run = {"elapsed_s": round(time.monotonic() - progress.started, 1), "jobs": jobs,
                  "gradings_full": counts["full"], "gradings_partial": counts["partial"],
                  "gradings_skipped": counts["skipped"], "soak_gradings": counts["soak"],
                  "verdicts_reused": counts["reused_verdicts"],
                  "verdicts_from_reference": counts["from_reference"],
                  "base_levels": bases,
                  "numbers_differ": {level: list(differ[base, level])
                                     for group, base in zip(groups, bases, strict=True)
                                     for level in group if differ[base, level]}}
    return result


class _Slots:
    """At most ``size`` grading sessions at once. A session waiting for a slot gets one in turn,
    but the reference's first: every other solution waits for its gradings."""

    def __init__(self, size: int) -> None:
        self.free = size
        self.waiting: list[tuple[int, int]] = []  # (0 for the reference's, 1 else; arrival), a heap
        self.arrivals = itertools.count()
        self.changed = threading.Condition()

    @contextlib.contextmanager
    def held(self, first: bool = False) -> Iterator[None]:
        with self.changed:
            ticket = (0 if first else 1, next(self.arrivals))
            heapq.heappush(self.waiting, ticket)
            self.changed.wait_for(lambda: self.free > 0 and self.waiting[0] == ticket)
            heapq.heappop(self.waiting)
            self.free -= 1
            self.changed.notify_all()
        try:
            yield
        finally:
            with self.changed:
                self.free += 1
                self.changed.notify_all()


def default_jobs() -> int:
    """Grading sessions at once by default: :data:`SESSIONS_PER_CORE` per core this process may use."""
    import os

    return SESSIONS_PER_CORE * max(1, len(os.sched_getaffinity(0)))


def _sessions(ids: Sequence[str], apart: str) -> list[list[str]]:
    """``ids`` as the sessions of one grading (see ``graded`` in :func:`calibrate`)."""
    if apart == "none":
        return [list(ids)]
    groups: dict[str, list[str]] = {}
    for nodeid in ids:
        key = nodeid.split("::")[0] if apart == "modules" or _is_soak(nodeid) else ""
        groups.setdefault(key, []).append(nodeid)
    return list(groups.values())


def _declared(exercises: Sequence[str]) -> list[Verdict]:
    """Every check as its declaration says, as a grading of the chosen exercises would run it
    (for :func:`to_regrade` before the base level is graded)."""
    return [Verdict(c.nodeid, c.nodeid.split("::")[1], c.exercise, c.levels,
                    "pass" if c.exercise == SOAK or c.exercise in exercises else "not-run")
            for c in all_checks()]


def _at_once(grade_at: Callable[[str], Graded], levels: Sequence[str]) -> dict[str, Graded]:
    """``grade_at(level)`` for each level, side by side (each mostly waits on its fake's clock)."""
    if len(levels) <= 1:
        return {level: grade_at(level) for level in levels}
    with ThreadPoolExecutor(max_workers=len(levels)) as side_by_side:
        return dict(zip(levels, side_by_side.map(grade_at, levels), strict=True))


def _counted(records: Sequence[Any], level: str) -> int:
    return sum(1 for r in records if r.verdict != "not-run" and level in r.levels)


def _may_reuse(member: Member) -> bool:
    """Whether a member is the reference with a change (its verdicts may come from the reference)."""
    return member.kind in ("flawed", "profile")


def _changes(members: Sequence[Member], slugs: Sequence[str], level: str,
             work: Path) -> dict[str, Change | None]:
    """Each member's change against the reference (None: it must be graded as it is, because
    the change reaches every start of the app)."""
    reference = prepare_solution(REFERENCE, slugs, level, work / "reference")
    found: dict[str, Change | None] = {}
    for member in members:
        if member.name in found:
            continue
        folder = prepare_solution(member.name, slugs, level, work / member.name.replace("/", "-"),
                                  member.flaws if member.kind == "profile" else ())
        change = change_between(reference, folder)
        found[member.name] = None if change.everywhere is not None else change
    return found


@dataclass(frozen=True, slots=True)
class CheckInfo:
    """A hidden check as its declaration says: its node id and the levels where it counts."""

    nodeid: str
    levels: tuple[str, ...]

    @property
    def exercise(self) -> str:
        """The exercise's slug (``soak`` for the soak), from the check's module."""
        module = self.nodeid.split("::", 1)[0]
        return module.removeprefix("test_").removesuffix(".py").replace("_", "-")


@functools.cache
def all_checks() -> tuple[CheckInfo, ...]:
    """Every hidden check, from the checks' declarations, in file and line order."""
    import importlib
    import inspect

    from faultfirst_data import package_folder

    found = []
    for path in sorted((package_folder("graders") / "checks").glob("test_*.py")):
        module = importlib.import_module(f"graders.checks.{path.stem}")
        functions = [f for _, f in inspect.getmembers(module, inspect.isfunction)
                     if getattr(f, "__faultfirst_check__", None) is not None
                     and f.__module__ == module.__name__]
        for function in sorted(functions, key=lambda f: f.__code__.co_firstlineno):
            spec = getattr(function, "__faultfirst_check__")  # noqa: B009 (set by @check)
            found.append(CheckInfo(f"{path.name}::{function.__name__}", tuple(spec.levels)))
    return tuple(found)


def soak_ids() -> list[str]:
    """The soak's node ids (one check today)."""
    return [c.nodeid for c in all_checks() if _is_soak(c.nodeid)]


def _is_soak(nodeid: str) -> bool:
    return nodeid.startswith(f"test_{SOAK}.py::")


def _joined(parts: Sequence[Graded]) -> Graded:
    """One grading made of gradings run side by side: their records, and their starts of the app
    numbered apart (the second's from 10,001, ...) so that each check keeps its own start's lines."""
    if len(parts) == 1:
        return parts[0]
    records: list[Any] = []
    coverage: dict[int, Mapping[str, Sequence[int]]] | None = {}
    for index, part in enumerate(parts):
        offset = index * _START_OFFSET
        records += [dataclasses.replace(r, app_start=r.app_start + offset) if r.app_start else r
                    for r in part.records]
        if part.coverage is None or coverage is None:
            coverage = None
        else:
            coverage.update({start + offset: lines for start, lines in part.coverage.items()})
    return Graded(parts[0].percent, tuple(records), coverage)


# --- the table -------------------------------------------------------------------------------------

def table(calibration: Calibration) -> str:
    """The scores as a Markdown table (one row per solution, the ranked ones first), the
    discrimination figures per level, and the recommendation."""
    levels = calibration.levels
    lines = ["| solution | flaws | " + " | ".join(levels) + " |",
             "| --- | ---: | " + " | ".join("---:" for _ in levels) + " |"]
    order = calibration.ranked + [n for n in calibration.scores if n not in calibration.ranked]
    for name in order:
        member = calibration.member(name)
        count = "all" if member.kind == STARTER else str(len(member.flaws))
        label = name if member.kind != "profile" else f"{name} ({', '.join(member.flaws)})"
        scores = calibration.scores[name]
        lines.append(f"| {label} | {count} | "
                     + " | ".join(f"{scores[level]:.1f}%" for level in levels) + " |")
    figures = {level: calibration.figures(level) for level in levels}
    if calibration.ranked:
        lines.append("| Kendall's tau (known order) | | " + " | ".join(
            "–" if figures[lv]["kendall_tau"] is None else f"{figures[lv]['kendall_tau']:.2f}"
            for lv in levels) + " |")
        lines.append("| spread (reference − lowest profile) | | "
                     + " | ".join(f"{figures[lv]['spread']:.1f}" for lv in levels) + " |")
    if REFERENCE in calibration.scores and calibration.flawed:
        total = len(calibration.flawed)
        lines.append("| flawed below reference | | " + " | ".join(
            f"{figures[lv]['flawed_below_reference']}/{total}" for lv in levels) + " |")
        lines.append("| mean loss of a flawed | | "
                     + " | ".join(f"{figures[lv]['mean_loss']:.1f}" for lv in levels) + " |")
    text = "\n".join(lines)
    text += f"\n\nRecommended level: {recommendation_text(calibration)}."
    if calibration.notes:
        text += "\n\nNotes:\n" + "\n".join(f"- {note}" for note in calibration.notes)
    return text


def write_json(calibration: Calibration, path: Path) -> Path:
    path.write_text(json.dumps(calibration.to_json(), indent=2) + "\n", encoding="utf-8")
    return path
