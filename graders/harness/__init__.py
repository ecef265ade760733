"""The grading harness: run a submission against the hidden checks and report.

Public API (used by ``faultfirst grade``, ``calibrate`` and ``demo``)::

    from graders.harness import grade, GradeResult, TerminalProgress
    result = grade("path/to/repo", level="stormy", seed=7, out_dir="out",
                   progress=TerminalProgress())
    result.score.score, result.score.max_score, result.status, result.exit_code

A pipeline, read one way (each folder's ``__init__`` says what its modules do):

- ``outer/``: in the grader's process: copy the submission, read its manifest, install what it
  adds, plan the sandbox, launch the inner session, score and report (``run.grade``);
- ``sandbox/``: what confines the app: bubblewrap's allow-list root and the grading's own user ID
  (``plan``), the root steps before the app (``jail``), the loopback-only network (``netns``), the
  limits on the whole grading (``cgroups``);
- ``inner/``: in the inner session: the fake LLM and pytest (``session``), the app as a
  subprocess (``app_process``), the checks' client (``client``), evidence and shared context;
- ``report/``: records across the process boundary, scoring, the result, ``results.json``, the
  HTML report with its timelines, the terminal.

``errors`` holds every exception of the graders, the tree in its docstring.
"""

from graders.harness.outer.run import grade
from graders.harness.report.result import GradeResult
from graders.harness.report.terminal import TerminalProgress, summary

__all__ = ["GradeResult", "TerminalProgress", "grade", "summary"]
