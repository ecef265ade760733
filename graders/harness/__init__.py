"""The grading harness: run a submission against the hidden checks and report.

Public API (used by ``faultfirst grade``, ``calibrate`` and ``demo``)::

    from graders.harness import grade, GradeResult, TerminalProgress
    result = grade("path/to/repo", level="stormy", seed=7, out_dir="out",
                   progress=TerminalProgress())
    result.score.score, result.score.max_score, result.status, result.exit_code

Modules: ``run`` (the outer process), ``inner`` (runs the inner session), ``session`` (the inner
session itself), ``manifest``, ``submission`` (copy, hash, dependencies), ``sandbox`` and
``jail`` (confinement), ``netns`` (loopback-only network), ``app_process`` (the app as a
subprocess), ``client`` (the checks' HTTP client), ``evidence``, ``records``, ``scoring``,
``results`` (Gradescope JSON), ``timeline`` (SVG), ``reports`` (HTML), ``terminal``.
"""

from graders.harness.run import GradeResult, grade
from graders.harness.terminal import TerminalProgress, summary

__all__ = ["GradeResult", "TerminalProgress", "grade", "summary"]
