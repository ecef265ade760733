"""The ``faultfirst`` command: one entry point for the interviewer's flows."""

from __future__ import annotations

import argparse
import sys

from fake_llm.cli import add_serve_arguments, run_serve


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="faultfirst",
        description="An interview kit for AI engineers: a flaky fake LLM, exercises, fair graders.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the flaky fake LLM server (live sessions)")
    add_serve_arguments(serve)
    serve.set_defaults(run=run_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status: int = args.run(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
