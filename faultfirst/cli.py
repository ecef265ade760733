"""The ``faultfirst`` command: one entry point for the interviewer's flows."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fake_llm.cli import add_serve_arguments, run_serve
from fake_llm.profiles import LEVELS
from faultfirst import __version__
from faultfirst.catalogue import CatalogueError, load_catalogue

EXIT_MEANINGS = {
    "graded": "the checks ran (whatever the score)",
    "did-not-start": "the app never became healthy (the candidate's failure, scored 0)",
    "harness-error": "the kit failed, not the candidate: grade again",
    "incomplete": "the checks ran but some were grader-errors (counted as 0): grade again",
    "invalid-submission": "no such folder, or no usable manifest faultfirst.toml or dependencies",
}


def grade_exit_codes() -> str:
    """The exit statuses of ``faultfirst grade``, one a line (its --help shows them)."""
    from graders.harness.errors import EXIT_CODES

    rows = sorted([*EXIT_CODES.items(), ("usage-error", 2)], key=lambda item: item[1])
    meanings = {**EXIT_MEANINGS, "usage-error": "bad command-line arguments"}
    return "exit status:\n" + "\n".join(f"  {code}  {status:<18} {meanings.get(status, '')}".rstrip()
                                         for status, code in rows)


def add_grade_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="the candidate's repository (a folder with faultfirst.toml)")
    parser.add_argument("--level", choices=LEVELS,
                        help="chaos level (default: the manifest's level, else realistic)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fake LLM's chaos (default 0)")
    parser.add_argument("--out", help="where to write results.json and report.html "
                                      "(default ./faultfirst-grade-<folder name>)")
    parser.add_argument("-k", dest="select", metavar="EXPR",
                        help="run only the checks matching this pytest -k expression (partial run)")


def run_grade(args: argparse.Namespace) -> int:
    """Grade a submission; exit 0 when grading ran, whatever the score (see GradeResult.exit_code)."""
    from graders.harness import TerminalProgress, grade, summary
    from graders.harness.errors import EXIT_CODES
    from graders.harness.report.terminal import clean

    if not Path(args.path).is_dir():
        # Refused before anything is written: no report folder for a path that is not there.
        print(f"faultfirst grade: {args.path}: no such folder", file=sys.stderr)
        return EXIT_CODES["invalid-submission"]
    print(f"grading {args.path} ...", flush=True)
    result = grade(args.path, level=args.level, seed=args.seed, out_dir=args.out,
                   progress=TerminalProgress(), select=args.select)
    print(summary(result), flush=True)
    if result.exit_code != 0:
        print(f"faultfirst grade: {clean(result.message)}", file=sys.stderr)
    return result.exit_code


def run_exercises(args: argparse.Namespace) -> int:
    """Print the catalogue: slug, title, bug/feature, difficulty, minutes, points."""
    exercises = load_catalogue()
    rows = [("slug", "title", "kind", "difficulty", "minutes", "points")]
    rows += [(e.slug, e.title, e.kind, "*" * e.difficulty, str(e.minutes), str(e.points))
             for e in exercises]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        if index == 0:
            print("  ".join("-" * width for width in widths))
    print(f"\n{len(exercises)} exercises. Any 2-3 make a 2-hour session: "
          "faultfirst new-candidate --exercises a,b --level realistic --out DIR")
    return 0


def run_new_candidate(args: argparse.Namespace) -> int:
    """Make a candidate repo; refuses a non-empty DIR or an unknown slug."""
    from faultfirst.export import ExportError, export_candidate

    slugs = [s.strip() for s in args.exercises.split(",") if s.strip()]
    try:
        result = export_candidate(slugs, args.level, Path(args.out), args.name)
    except ExportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"candidate repo ready: {result.path}\n"
          f"  exercises: {', '.join(result.exercises)}   level: {result.level}\n"
          f"  commit {result.commit[:10]} (template {result.template_hash})\n"
          f"Send it to the candidate; grade it when it comes back with:\n"
          f"  faultfirst grade {result.path}")
    return 0


def run_gradescope(args: argparse.Namespace) -> int:
    """Write a Gradescope autograder zip for these exercises at this level."""
    from faultfirst.export import ExportError
    from faultfirst.gradescope import build_bundle, check_config

    slugs = [s.strip() for s in args.exercises.split(",") if s.strip()]
    try:
        config = check_config(slugs, args.level, args.seed)
        out = build_bundle(config, Path(args.out).resolve())
    except ExportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Gradescope autograder ready: {out}\n"
          f"  exercises: {', '.join(config.exercises)}   level: {config.level}   seed: {config.seed}\n"
          "Upload it as the autograder of a programming assignment (docs/grading.md, Gradescope).")
    return 0


def run_calibrate(args: argparse.Namespace) -> int:
    """Grade the population (starter, reference, flawed solutions, profiles) at each level;
    table, json and heat map; recommend a level."""
    from faultfirst.calibrate import calibrate, default_jobs, recommendation_text, table, write_json
    from faultfirst.export import ExportError, choose_exercises
    from faultfirst.plot import heatmap_svg

    levels = [level.strip() for level in args.levels.split(",") if level.strip()]
    unknown = [level for level in levels if level not in LEVELS]
    if unknown or not levels:
        print(f"error: unknown level(s) {', '.join(unknown) or '(none)'}; valid: {', '.join(LEVELS)}",
              file=sys.stderr)
        return 2
    if len(set(levels)) != len(levels):
        print(f"error: a level is named twice in {args.levels}", file=sys.stderr)
        return 2
    if args.jobs is None:
        args.jobs = default_jobs()
    if args.jobs < 1:
        print(f"error: --jobs must be at least 1, got {args.jobs}", file=sys.stderr)
        return 2
    try:
        exercises = [e.slug for e in choose_exercises(args.exercises.split(","))] if args.exercises \
            else None
    except ExportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    scores_so_far = out / "scores.jsonl"  # each score as it comes: a stopped run keeps them
    scores_so_far.write_text("", encoding="utf-8")

    def on_score(name: str, level: str, score: float) -> None:
        with scores_so_far.open("a", encoding="utf-8") as stream:
            stream.write(json.dumps({"solution": name, "level": level, "percent": score}) + "\n")

    result = calibrate(levels, exercises, seed=args.seed, out=out / "reports", on_progress=progress,
                       on_score=on_score, jobs=args.jobs, reuse=not args.no_reuse)
    text = table(result)
    (out / "calibration.md").write_text(f"# Calibration, seed {result.seed}\n\n{text}\n",
                                        encoding="utf-8")
    write_json(result, out / "calibration.json")
    (out / "calibration.svg").write_text(heatmap_svg(result), encoding="utf-8")
    run = result.run
    print(f"\n{text}\n\n{recommendation_text(result)}\n"
          f"{run['gradings_full']} full and {run['gradings_partial']} partial gradings, "
          f"{run['verdicts_reused']} verdicts reused across levels, "
          f"{run['verdicts_from_reference']} taken from the reference (changed lines not run), "
          f"{run['elapsed_s'] / 60:.1f} min\n"
          f"table: {out / 'calibration.md'}\njson:  {out / 'calibration.json'}\n"
          f"plot:  {out / 'calibration.svg'}")
    return 0


def run_demo_command(args: argparse.Namespace) -> int:
    from faultfirst.demo import run_demo

    return run_demo(Path(args.out) if args.out else None)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faultfirst",
        description="An interview kit for AI engineers: a flaky fake LLM, exercises, fair graders.")
    parser.add_argument("--version", action="version", version=f"faultfirst {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the flaky fake LLM server (live sessions)")
    add_serve_arguments(serve)
    serve.set_defaults(run=run_serve)
    grade = commands.add_parser("grade", help="grade a candidate's repository against the hidden checks",
                                epilog=grade_exit_codes(),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_grade_arguments(grade)
    grade.set_defaults(run=run_grade)

    exercises = commands.add_parser("exercises", help="list the exercise catalogue")
    exercises.set_defaults(run=run_exercises)

    new = commands.add_parser("new-candidate", help="make a candidate repo (one git commit)")
    new.add_argument("--exercises", required=True, help="comma-separated slugs, e.g. retries,citations")
    new.add_argument("--level", default="realistic",
                     help="calm, realistic, stormy or hurricane (default realistic)")
    new.add_argument("--out", required=True, help="a new or empty directory")
    new.add_argument("--name", default="candidate", help="the candidate's name, for the README")
    new.set_defaults(run=run_new_candidate)

    gradescope = commands.add_parser(
        "gradescope", help="write a Gradescope autograder zip that grades these exercises")
    gradescope.add_argument("--exercises", required=True,
                            help="comma-separated slugs, e.g. retries,citations")
    gradescope.add_argument("--level", default="realistic",
                            help=f"{', '.join(LEVELS)} (default realistic)")
    gradescope.add_argument("--seed", type=int, default=0, help="chaos seed (default 0)")
    gradescope.add_argument("--out", default="autograder.zip",
                            help="the zip to write (default autograder.zip)")
    gradescope.set_defaults(run=run_gradescope)

    calibrate = commands.add_parser(
        "calibrate", help="grade the known solutions at each level; find the level that separates")
    calibrate.add_argument("--exercises", help="comma-separated slugs (default: all)")
    calibrate.add_argument("--levels", default=",".join(LEVELS),
                           help=f"comma-separated levels (default: {','.join(LEVELS)})")
    calibrate.add_argument("--seed", type=int, default=0, help="chaos seed (default 0)")
    calibrate.add_argument("--jobs", type=int, default=None,
                           help="grading sessions at once (default: 10 per core)")
    calibrate.add_argument("--no-reuse", action="store_true",
                           help="grade every level with every check (to verify the reuse)")
    calibrate.add_argument("--out", default="faultfirst-calibration",
                           help="where to write the table, the plot and the reports")
    calibrate.set_defaults(run=run_calibrate)

    demo = commands.add_parser("demo", help="the whole flow on the defaults: export, grade, compare")
    demo.add_argument("--out", help="where to put the demo's repos and reports (default: a temp dir)")
    demo.set_defaults(run=run_demo_command)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except CatalogueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":
    sys.exit(main())
