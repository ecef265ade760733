"""Make each mutant, grade it on its exercise, and write the report.

    python -m bench.mutation [--exercises a,b] [--sample N] [--level L] [--seed S] [--jobs J]
                             [--out DIR] [--mutants ID,...] [--list]
    python -m bench.mutation --render DIR [--report FILE]

Per mutant: the reference is materialised into a fresh folder with a manifest naming the mutant's
exercises (:func:`faultfirst.calibrate.prepare_solution`), cosmic-ray applies the mutation to the
copied file (:func:`cosmic_ray.mutating.apply_mutation`, the function its own workers use) and
the harness grades the folder without the soak check (``select="not soak"``: the soak runs
whatever the manifest says and would only slow the run). The outcome is ``killed`` (the names of
the failed checks), ``incompetent`` (the app never started: killed trivially), ``survived``
(every check passed) or ``error`` (the harness, not the mutant, failed: regrade).

``--render`` grades nothing: it writes the report of an earlier run (``DIR/mutation.json``) again
with the triage file as it is now, e.g. once the survivors are triaged.
"""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import json
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.mutation.report import TRIAGE_PATH, load_triage, write_report
from bench.mutation.targets import KIT_ROOT, Mutant, enumerate_mutants, sample

SELECT = "not soak"


def apply(mutant: Mutant, folder: Path) -> str:
    """Mutate ``folder``'s copy of the mutant's file in place; the unified diff."""
    import cosmic_ray.plugins
    from cosmic_ray.mutating import apply_mutation

    path = folder / mutant.file
    operator = cosmic_ray.plugins.get_operator(mutant.operator)()
    original, mutated = apply_mutation(path, operator, mutant.occurrence)
    if mutated is None:
        raise RuntimeError(f"cosmic-ray made no mutation for {mutant.key} (occurrence {mutant.occurrence})")
    return "\n".join(difflib.unified_diff(original.splitlines(), mutated.splitlines(),
                                          f"a/{mutant.file}", f"b/{mutant.file}", lineterm="", n=1))


def compile_problem(path: Path) -> str:
    """Why the mutated file is not valid Python, or ``""`` (such a mutant is incompetent: the app
    cannot even import it, so there is no need to grade it)."""
    try:
        compile(path.read_text(encoding="utf-8"), str(path), "exec")
    except SyntaxError as error:
        return f"the mutant does not compile: {error.msg} (line {error.lineno})"
    return ""


def outcome_of(result: Any) -> tuple[str, list[str], str]:
    """(outcome, failed check names, message) of a :class:`graders.harness.GradeResult`."""
    if result.status == "did-not-start":
        return "incompetent", [], result.message
    if result.status != "graded":
        return "error", [], f"{result.status}: {result.message}"
    counted = result.score.counted
    failed = [c.record.name for c in counted if c.record.verdict == "fail"]
    if failed:
        return "killed", failed, ""
    errors = [c.record.name for c in counted if c.record.verdict == "grader-error"]
    if errors:
        return "error", [], "grader-error in " + ", ".join(errors)
    if not counted:
        return "error", [], "no check of the exercise ran"
    return "survived", [], ""


def grade_mutant(mutant: Mutant, level: str, seed: int) -> dict[str, Any]:
    """Materialise, mutate, grade; one result row (plain data)."""
    from faultfirst.calibrate import prepare_solution
    from graders.harness import grade

    started = time.monotonic()
    row: dict[str, Any] = {**asdict(mutant), "exercise": mutant.exercise}
    with tempfile.TemporaryDirectory(prefix="faultfirst-mutant-") as work:
        folder = prepare_solution("reference", mutant.exercises, level, Path(work) / "app")
        try:
            row["diff"] = apply(mutant, folder)
        except Exception as error:  # cosmic-ray's own bug (e.g. ExceptionReplacer on some tuples)
            row["diff"], row["outcome"], row["killed_by"] = "", "error", []
            row["message"] = f"cosmic-ray could not make this mutant: {type(error).__name__}: {error}"
            row["duration_s"] = round(time.monotonic() - started, 1)
            return row
        problem = compile_problem(folder / mutant.file)
        if problem:  # cosmic-ray can make invalid code (``*, stream`` as ``+, stream``): no app
            row["outcome"], row["killed_by"], row["message"] = "incompetent", [], problem
        else:
            result = grade(folder, level=level, seed=seed, out_dir=Path(work) / "grading",
                           select=SELECT)
            row["outcome"], row["killed_by"], row["message"] = outcome_of(result)
            row["why"] = {c.record.name: c.record.why[:500] for c in result.score.counted
                          if c.record.name in row["killed_by"]}
    row["duration_s"] = round(time.monotonic() - started, 1)
    return row


def commit() -> str:
    """HEAD's short hash, with ``+dirty`` when the worktree has changes."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=KIT_ROOT, capture_output=True, text=True,
                              check=False).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+dirty" if git("status", "--porcelain") else "")


def _eta(done: int, total: int, started: float) -> str:
    elapsed = time.monotonic() - started
    left = elapsed / done * (total - done) if done else 0.0
    return f"elapsed {elapsed / 60:.1f} min, about {left / 60:.1f} min left"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    from graders.harness.inner.context import known_exercises
    from graders.harness.report.records import LEVELS

    parser = argparse.ArgumentParser(prog="python -m bench.mutation", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exercises", help="comma-separated home exercises (default: all)")
    parser.add_argument("--sample", type=int, metavar="N",
                        help="N mutants per exercise, seeded, stratified by operator (default: all)")
    parser.add_argument("--level", default="realistic", choices=LEVELS)
    parser.add_argument("--seed", type=int, default=0, help="sampling and grading seed (default 0)")
    parser.add_argument("--jobs", type=int, default=1, help="gradings at once (default 1)")
    parser.add_argument("--out", type=Path, default=KIT_ROOT / "bench" / "results" / "mutation")
    parser.add_argument("--mutants", help="comma-separated mutant ids to grade (e.g. to check a "
                        "survivor's triage); overrides --exercises and --sample")
    parser.add_argument("--list", action="store_true", help="print the chosen mutants and stop")
    parser.add_argument("--render", type=Path, metavar="DIR",
                        help="grade nothing: write the report of the run in DIR again, with the "
                        "triage file as it is now")
    parser.add_argument("--report", type=Path, metavar="FILE",
                        help="with --render: where to write the report (default DIR/mutation.md)")
    args = parser.parse_args(argv)
    if args.report and not args.render:
        parser.error("--report goes with --render")
    known = known_exercises()
    args.exercises = args.exercises.split(",") if args.exercises else None
    for slug in args.exercises or ():
        if slug not in known:
            parser.error(f"unknown exercise {slug!r}; known: {', '.join(known)}")
    if args.sample is not None and args.sample < 1:
        parser.error("--sample must be at least 1")
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    return args


def render_again(folder: Path, report: Path | None) -> int:
    """The report of the run in ``folder`` with today's triage; 2 when there is no run there."""
    source = folder / "mutation.json"
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
        meta, rows = data["meta"], data["results"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"--render: no readable run in {source}: {error}", file=sys.stderr)
        return 2
    path = write_report(report or folder / "mutation.md", meta, rows, load_triage(TRIAGE_PATH))
    print(f"wrote {path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render:
        return render_again(args.render, args.report)
    skipped: dict[str, int] = {}
    every = enumerate_mutants(skipped=skipped)
    chosen = sample(every, args.sample, args.seed, args.exercises)
    if args.mutants:
        by_key = {m.key: m for m in every}
        unknown = [key for key in args.mutants.split(",") if key not in by_key]
        if unknown:
            print(f"unknown mutant ids: {', '.join(unknown)} (see --list)", file=sys.stderr)
            return 2
        chosen = [by_key[key] for key in args.mutants.split(",")]
    if args.list:
        for mutant in chosen:
            print(f"{mutant.key}  line {mutant.line}  -> {','.join(mutant.exercises)}")
        return 0
    triage = load_triage(TRIAGE_PATH)
    how = "every mutant"
    if args.mutants:
        how = "the mutants named by --mutants"
    elif args.sample:
        how = (f"a sample of {args.sample} per exercise (random.Random({args.seed}), operator "
               "families taken in turn in a shuffled order, a uniform draw within each)")
    meta = {"command": "python -m bench.mutation " + shlex.join(sys.argv[1:] if argv is None else argv),
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), "commit": commit(),
            "level": args.level, "seed": args.seed, "sampling": how,
            "full": not (args.mutants or args.sample or args.exercises),
            "mutants_available": {ex: sum(1 for m in every if m.exercise == ex)
                                  for ex in sorted({m.exercise for m in every})},
            "in_annotations": skipped}
    args.out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    lock = threading.Lock()
    started = time.monotonic()
    print(f"{len(chosen)} mutants ({how}); level {args.level}, seed {args.seed}, {args.jobs} at once",
          flush=True)
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(grade_mutant, m, args.level, args.seed): m for m in chosen}
        for future in as_completed(futures):
            row = future.result()
            with lock:
                rows.append(row)
                (args.out / "mutation.json").write_text(
                    json.dumps({"meta": meta, "results": rows}, indent=1), encoding="utf-8")
                verdict = row["outcome"] + (f" by {', '.join(row['killed_by'])}" if row["killed_by"] else "")
                print(f"{len(rows)}/{len(chosen)} {row['key']}: {verdict} ({row['duration_s']} s); "
                      + _eta(len(rows), len(chosen), started), flush=True)
    order = {m.key: i for i, m in enumerate(chosen)}
    rows.sort(key=lambda r: order[r["key"]])
    (args.out / "mutation.json").write_text(json.dumps({"meta": meta, "results": rows}, indent=1),
                                            encoding="utf-8")
    write_report(args.out / "mutation.md", meta, rows, triage)
    print(f"wrote {args.out / 'mutation.json'} and {args.out / 'mutation.md'}")
    return 0
