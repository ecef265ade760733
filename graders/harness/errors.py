"""Every exception the graders raise on purpose, and what each one means for a verdict.

The tree::

    GradingError                  (Exception) base: carries verdict, status, exit_code
    ├── CandidateFault            the candidate's failure: it costs the candidate, never the kit
    │   ├── AppFailure            the app did not answer as a check needs: the check fails
    │   │   ├── AppUnreadable     the app answered what the grader will not read: over a cap,
    │   │   │                     not UTF-8, too many events
    │   │   └── AppDataError      (also LookupError) a field a check reads is missing from the
    │   │                         app's JSON, or of the wrong shape
    │   ├── AppStartError         the app never became healthy: did-not-start (exit 3)
    │   └── InvalidSubmission     the submission cannot be run: invalid-submission (exit 6)
    │       ├── ManifestError     (also ValueError) faultfirst.toml is missing or breaks a rule
    │       └── DependencyError   the submission's dependencies could not be installed
    └── HarnessFault              the kit's own failure: grader-error, harness-error (exit 4)
        └── SandboxError          the sandbox could not be set up

    CheckTimeout                  (BaseException) the check's time limit passed: the check fails

Each class says what it means as class attributes, so the plugin reads them instead of sorting
exceptions with an ``isinstance`` ladder: ``verdict`` (what a check that raised it gets:
``fail`` or ``grader-error``), ``status`` and ``exit_code`` (what a grading that stopped on it
is: ``did-not-start`` 3, ``harness-error`` 4, ``invalid-submission`` 6), ``restarts_app``
(whether the app may be left hung, so the next check needs a fresh one).

``CheckTimeout`` is a BaseException because the alarm raises it inside the check's own code:
a check's ``except Exception`` must not swallow it. The time limit is the candidate's failure.

Anything else a check raises is a grader-error, with two exceptions the plugin knows about:
``AssertionError`` (the check's judgement: fail) and pytest's own ``fail``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

# The grading statuses and exit codes of `faultfirst grade` (a usage error exits 2, from argparse).
EXIT_CODES = {"graded": 0, "did-not-start": 3, "harness-error": 4, "incomplete": 5,
              "invalid-submission": 6}


class GradingError(Exception):
    """Base of the graders' exceptions; the class attributes say what the error means."""

    verdict: ClassVar[str] = "grader-error"
    status: ClassVar[str] = "harness-error"
    restarts_app: ClassVar[bool] = False

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    @property
    def why(self) -> str:
        """The one line a report shows for it."""
        return str(self)

    @property
    def detail(self) -> str:
        """More evidence (an app's output, a traceback), or ''."""
        return ""


class CandidateFault(GradingError):
    """The candidate's failure: what the app did (or the submission is), never the kit's fault."""

    verdict = "fail"
    status = "graded"


class AppFailure(CandidateFault):
    """The app did not answer as the check needs (connection error, time limit, unreadable answer)."""

    restarts_app = True


class AppUnreadable(AppFailure):
    """The app answered something the grader will not read: over a size cap, not UTF-8, too long."""


class AppDataError(AppFailure, LookupError):
    """A check read a field the app's JSON does not have, or found a list where an object belongs."""

    restarts_app = False


class AppStartError(CandidateFault):
    """The app did not become healthy: the candidate's failure to start. ``log_tail`` is its output."""

    status = "did-not-start"

    def __init__(self, message: str, log_tail: str) -> None:
        super().__init__(message)
        self.log_tail = log_tail

    @property
    def why(self) -> str:
        return f"the app did not start: {self}"

    @property
    def detail(self) -> str:
        return self.log_tail


class InvalidSubmission(CandidateFault):
    """The submission cannot be run at all: nothing of it was graded."""

    status = "invalid-submission"


class ManifestError(InvalidSubmission, ValueError):
    """The manifest is missing or breaks a rule; the message names the file, the key, what is allowed."""

    def __init__(self, path: Path, key: str | None, problem: str,
                 allowed: Iterable[object] | None = None) -> None:
        self.path, self.key = path, key
        where = f"{path}: key {key!r}" if key else str(path)
        message = f"{where}: {problem}"
        if allowed is not None:
            message += "; allowed: " + ", ".join(repr(value) for value in allowed)
        super().__init__(message)


class DependencyError(InvalidSubmission):
    """The submission's declared dependencies could not be installed; the message says which."""


class HarnessFault(GradingError):
    """The kit's own failure: a check gets grader-error, a grading harness-error; never the candidate's."""


class SandboxError(HarnessFault):
    """The sandbox itself could not be set up (a harness problem, never the candidate's)."""


class CheckTimeout(BaseException):
    """Raised in the check's thread when its time limit passes (BaseException: not swallowable)."""

    verdict: ClassVar[str] = "fail"
    restarts_app: ClassVar[bool] = True


def verdict_of(error: BaseException) -> str:
    """What a check that raised ``error`` gets: its class's verdict, ``fail`` for an assertion,
    else ``grader-error`` (a bug of the check or the harness)."""
    if isinstance(error, GradingError | CheckTimeout):
        return error.verdict
    if isinstance(error, AssertionError):
        return "fail"
    return "grader-error"
