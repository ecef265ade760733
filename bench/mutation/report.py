"""The triage file and the Markdown report of a mutation run.

The triage file (``bench/mutation-triage.toml``) holds one table per surviving mutant, keyed by
the mutant's stable id (``file::scope::operator#k``, see :mod:`bench.mutation.targets`)::

    ["litreview/llm/retry.py::Backoff.delay_s::core/NumberReplacer#0"]
    verdict = "equivalent"          # or "needs-check", or "killed"
    reason = "why no behaviour the briefs state can tell it from the reference"

``needs-check`` takes a ``note`` instead of a reason: the brief sentence the mutant breaks and
the check that should kill it; ``killed`` names the ``check`` that now kills it. A surviving
equivalent leaves the denominator; a survivor triaged ``killed`` counts as survived in the run's
kill rate and as killed in the rate *now* (with the checks written since: a regrade of just
those mutants, ``--mutants``, confirms it).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TRIAGE_PATH = Path(__file__).resolve().parents[1] / "mutation-triage.toml"
VERDICTS = {"equivalent": "reason", "needs-check": "note", "killed": "check"}
OUTCOMES = ("killed", "incompetent", "survived", "error")


class TriageError(ValueError):
    """The triage file is malformed; the message names the entry and the problem."""


def parse_triage(text: str, source: str = "triage") -> dict[str, dict[str, str]]:
    """The triage entries by mutant id; raises :class:`TriageError` for a bad entry."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise TriageError(f"{source}: not TOML: {error}") from None
    for key, entry in data.items():
        if not isinstance(entry, dict):
            raise TriageError(f"{source}: [{key!r}] must be a table")
        verdict = entry.get("verdict")
        if verdict not in VERDICTS:
            raise TriageError(f"{source}: [{key!r}] verdict {verdict!r} is not one of {sorted(VERDICTS)}")
        field = VERDICTS[verdict]
        if not str(entry.get(field, "")).strip():
            raise TriageError(f"{source}: [{key!r}] verdict {verdict!r} needs a non-empty {field!r}")
    return data


def load_triage(path: Path = TRIAGE_PATH) -> dict[str, dict[str, str]]:
    return parse_triage(path.read_text(encoding="utf-8"), str(path)) if path.is_file() else {}


@dataclass
class Tally:
    """One exercise's counts. ``equivalent`` survivors leave the kill rate's denominator, and so
    do ``errors`` (the harness failed: nothing is known of the mutant)."""

    made: int = 0
    incompetent: int = 0
    equivalent: int = 0
    killed: int = 0
    survived: int = 0
    errors: int = 0
    killed_later: int = 0  # survivors that a check written since kills (triaged "killed")

    @property
    def judged(self) -> int:
        return self.made - self.equivalent - self.errors

    @property
    def kill_rate(self) -> float | None:
        """Killed (incompetent included) over the non-equivalent mutants graded."""
        return (self.killed + self.incompetent) / self.judged if self.judged else None

    @property
    def kill_rate_now(self) -> float | None:
        """The kill rate with the survivors that a check written since kills counted as killed."""
        return (self.killed + self.incompetent + self.killed_later) / self.judged if self.judged else None


def tally(rows: Iterable[Mapping[str, Any]], triage: Mapping[str, Mapping[str, str]]) -> dict[str, Tally]:
    """Counts per home exercise (sorted by name)."""
    tallies: dict[str, Tally] = {}
    for row in rows:
        if row["outcome"] not in OUTCOMES:
            raise ValueError(f"{row['key']}: unknown outcome {row['outcome']!r}")
        t = tallies.setdefault(row["exercise"], Tally())
        t.made += 1
        verdict = triage.get(row["key"], {}).get("verdict") if row["outcome"] == "survived" else None
        if verdict == "equivalent":
            t.equivalent += 1
        elif row["outcome"] == "error":
            t.errors += 1
        else:
            setattr(t, row["outcome"], getattr(t, row["outcome"]) + 1)
            t.killed_later += verdict == "killed"
    return dict(sorted(tallies.items()))


def _verdict(row: Mapping[str, Any], triage: Mapping[str, Mapping[str, str]]) -> str:
    outcome = row["outcome"]
    if outcome == "killed":
        return "killed by " + ", ".join(f"`{name}`" for name in row["killed_by"])
    if outcome == "incompetent":
        return "incompetent (the app did not start)"
    if outcome == "error":
        return f"error: {row.get('message', '')}"
    entry = triage.get(row["key"])
    if entry is None:
        return "**survived** (not triaged)"
    return f"survived: {entry['verdict']}: {entry.get(VERDICTS[entry['verdict']], '')}"


def _change(diff: str) -> str:
    """The mutated line(s) of a unified diff, for a table cell."""
    added = [line[1:].strip() for line in diff.splitlines()
             if line.startswith("+") and not line.startswith("+++")]
    text = " / ".join(added) or "(line removed)"
    return "`" + text.replace("|", "\\|").replace("`", "'") + "`"


def render(meta: Mapping[str, Any], rows: Sequence[Mapping[str, Any]],
           triage: Mapping[str, Mapping[str, str]]) -> str:
    """The report: how it was made, the per-exercise table, then one row per mutant."""
    title = "# Mutation report" + ("" if meta.get("full") else ": a sample, not the full run")
    lines = [title, "",
             f"- command: `{meta['command']}`", f"- date: {meta['date']}", f"- commit: {meta['commit']}",
             f"- level {meta['level']}, seed {meta['seed']}; mutants: {meta['sampling']}", "",
             "Kill rate: killed (incompetent included) over the mutants graded, less the survivors "
             "triaged equivalent and the harness errors. *Killed since*: survivors that a check "
             "written after the run kills (triaged `killed`, confirmed by regrading them with "
             "`--mutants`); *kill rate now* counts them as killed. *Available*: the exercise's mutants "
             "(the sample's population); *in annotations*: cosmic-ray's mutants inside annotations "
             "that are never evaluated, equivalent by construction and not made.", "",
             "| exercise | in annotations | available | made | incompetent | equivalent | killed "
             "| survived | errors | kill rate | killed since | kill rate now |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    available = meta.get("mutants_available", {})
    annotations = meta.get("in_annotations", {})
    for exercise, t in tally(rows, triage).items():
        rate, now = (("n/a" if r is None else f"{100 * r:.0f}%") for r in (t.kill_rate, t.kill_rate_now))
        lines.append(f"| {exercise} | {annotations.get(exercise, 0)} | {available.get(exercise, '?')} "
                     f"| {t.made} | {t.incompetent} "
                     f"| {t.equivalent} | {t.killed} | {t.survived} | {t.errors} | {rate} "
                     f"| {t.killed_later} | {now} |")
    lines += ["", "## Mutants", "", "| mutant | line | change | graded on | outcome |",
              "| --- | ---: | --- | --- | --- |"]
    for row in rows:
        lines.append(f"| `{row['key']}` | {row['line']} | {_change(row.get('diff', ''))} "
                     f"| {', '.join(row['exercises'])} | {_verdict(row, triage)} |")
    survivors = [row for row in rows if row["outcome"] == "survived"]
    if survivors:
        lines += ["", "## Survivors' diffs", ""]
        for row in survivors:
            lines += [f"`{row['key']}`", "", "```diff", row.get("diff", ""), "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def write_report(path: Path, meta: Mapping[str, Any], rows: Sequence[Mapping[str, Any]],
                 triage: Mapping[str, Mapping[str, str]]) -> Path:
    path.write_text(render(meta, rows, triage), encoding="utf-8")
    return path
