"""Which mutants to make, and which exercise's checks should kill each.

:data:`EXERCISE_MAP` is the data: for each file of the reference's policy code (paths relative to
``solutions/reference``), scopes (a dotted name inside the file: ``Gateway.with_retries``, a
class, a module-level constant such as ``BATCH_MAX_ITEMS``, or a field such as
``Policy.max_attempts``) and the exercises whose contract that code implements. The longest
scope that contains a mutant's line decides; ``""`` is the rest of the file. The first exercise
is the mutant's *home* (where the report counts it); every exercise listed goes into the graded
copy's manifest. Code in no listed scope (plumbing, test helpers, data shapes) is not mutated.

The map was decided by reading each brief (``exercises/<slug>/brief.md``) beside the code: a
mutant of ``retry_delay_s`` breaks the retries brief's backoff and retry-after rules, so the
retries checks must kill it.
"""

from __future__ import annotations

import ast
import random
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parents[2]
REFERENCE_DIR = KIT_ROOT / "solutions" / "reference"

EXERCISE_MAP: dict[str, dict[str, tuple[str, ...]]] = {
    "litreview/llm/retry.py": {"": ("retries",)},
    "litreview/llm/breaker.py": {"": ("fallback",)},
    "litreview/llm/gateway.py": {
        "": ("retries",),
        "FALLBACK_ON": ("fallback",),
        "Gateway.new_context": ("deadlines",),
        "Gateway.providers": ("fallback",),
        "Gateway.can_attempt": ("structured-output",),
        "Gateway.complete": ("retries", "cost"),
        "Gateway.across_providers": ("fallback",),
        "Gateway.with_retries": ("retries", "fallback"),
        "Gateway.record_failure": ("streaming",),
        "Gateway._admit": ("retries",),
        "Gateway._wait_before_retry": ("retries",),
        "Gateway._give_up": ("retries",),
    },
    "litreview/llm/http.py": {
        "retry_after_s": ("retries",),
        "should_retry": ("retries",),
        "error_from_response": ("retries",),
        "unreadable_error": ("retries",),
        "read_json": ("retries",),
        "cut_error": ("streaming",),
        "stream_failure": ("streaming",),
        "broken_error": ("streaming",),
        "httpx_timeout": ("deadlines",),
        "call_errors": ("retries", "deadlines"),
        "iter_sse": ("streaming",),
        "parse_event_json": ("streaming",),
        "read_stream": ("streaming",),
    },
    "litreview/llm/streaming.py": {"": ("streaming",)},
    "litreview/llm/openai.py": {
        "_usage": ("cost",),
        "_finish": ("structured-output",),
        "OpenAIProvider": ("retries",),
        "_ChunkReader": ("streaming",),
    },
    "litreview/llm/anthropic.py": {
        "_usage": ("cost",),
        "_stop": ("fallback",),
        "AnthropicProvider": ("fallback",),
    },
    "litreview/llm/context.py": {"UsageMeter": ("cost",), "RequestContext": ("cost",)},
    "litreview/llm/types.py": {"Usage": ("cost",)},
    "litreview/structured.py": {"": ("structured-output",)},
    "litreview/generation.py": {"": ("structured-output",), "generate": ("structured-output", "cost")},
    "litreview/citations.py": {"": ("citations",)},
    # capped_by serves only the batch: an item's deadline never passes the batch's.
    # The gateway gives up (llm_timeout) on an expired deadline: the retries brief's rule too.
    "litreview/clock.py": {"SystemClock": ("deadlines",), "Deadline": ("deadlines", "retries"),
                           "Deadline.capped_by": ("batch",)},
    "litreview/errors.py": {
        "": ("retries",),
        "AttemptError.provider_down": ("fallback",),
        "BudgetExceeded": ("cost",),
    },
    "litreview/policy.py": {
        "BATCH_MAX_ITEMS": ("batch",),
        "Policy.request_deadline_s": ("deadlines",),
        "Policy.batch_deadline_s": ("batch",),
        "Policy.stream_first_event_s": ("streaming",),
        "Policy.stream_idle_s": ("streaming",),
        "Policy.stream_attempt_s": ("streaming",),
        "Policy.deadline_margin_s": ("deadlines",),
        "Policy.attempt_timeout_s": ("deadlines", "retries"),
        "Policy.connect_timeout_s": ("deadlines",),
        "Policy.min_attempt_s": ("retries",),
        "Policy.max_attempts": ("retries",),
        "Policy.backoff_base_s": ("retries",),
        "Policy.backoff_cap_s": ("retries",),
        "Policy.retry_budget_capacity": ("retries",),
        "Policy.retry_budget_deposit": ("retries",),
        "Policy.breaker_failure_threshold": ("fallback",),
        "Policy.breaker_cooldown_s": ("fallback",),
        "Policy.fallback_reserve_s": ("fallback",),
        "Policy.max_generations": ("structured-output",),
        "Policy.batch_concurrency": ("batch",),
        "Policy.review_deadline_s": ("agent",),
        "Policy.review_max_steps": ("agent",),
        "Policy.review_max_tool_reasks": ("agent",),
        "Policy.review_search_results": ("agent",),
        "Policy.review_token_budget": ("agent",),
    },
    "litreview/schemas.py": {
        "TokenBudget": ("cost",),
        "AnswerRequest": ("citations",),
        "BatchRequest": ("batch",),
        "BatchItem": ("batch",),
        "ReviewRequest": ("agent",),
    },
    "litreview/api/summaries.py": {
        "summarize": ("fallback",),
        "create_summary": ("fallback",),
        "create_summaries": ("batch",),
        "_gather_until": ("batch",),
    },
    "litreview/api/stream.py": {"": ("streaming",)},
    # Extractions and answers must never fall back (the fallback brief): that flag is fallback's.
    "litreview/api/extractions.py": {"": ("structured-output", "fallback")},
    "litreview/api/answers.py": {"": ("citations", "fallback")},
    "litreview/api/reviews.py": {"": ("agent",)},
    "litreview/agent/loop.py": {"": ("agent",)},
    "litreview/agent/tools.py": {"": ("agent",)},
    "litreview/agent/index.py": {"": ("agent",)},
}


# Files whose annotations are read at run time (pydantic models, FastAPI endpoints): a mutant of
# an annotation there is made like any other. Elsewhere ``from __future__ import annotations``
# keeps every annotation an unevaluated string, so a mutant inside one (``int | None`` made
# ``int ** None``) cannot change behaviour: it is equivalent by construction and not made.
RUNTIME_ANNOTATIONS = frozenset({
    "litreview/schemas.py", "litreview/structured.py", "litreview/citations.py", "litreview/llm/types.py",
    "litreview/api/summaries.py", "litreview/api/stream.py", "litreview/api/extractions.py",
    "litreview/api/answers.py",
})


@dataclass(frozen=True, slots=True)
class Mutant:
    """One mutation: cosmic-ray's (file, operator, occurrence) and where it lands."""

    file: str  # relative to solutions/reference, e.g. litreview/llm/retry.py
    operator: str  # cosmic-ray's name, e.g. core/NumberReplacer
    occurrence: int  # cosmic-ray's occurrence of the operator in the file
    line: int
    scope: str
    exercises: tuple[str, ...]
    key: str  # stable id: file::scope::operator#k (k counts this operator within the scope)

    @property
    def exercise(self) -> str:
        """The home exercise: the one the report counts the mutant under."""
        return self.exercises[0]


def scope_of(tree: ast.Module, line: int) -> str:
    """The dotted name of the innermost definition holding ``line`` (a class field or a
    module-level constant counts as a definition; ``""`` for the rest of the module)."""
    parts: list[str] = []
    body: list[ast.stmt] = tree.body
    while True:
        inner = next((node for node in body
                      if _first_line(node) <= line <= (node.end_lineno or node.lineno)), None)
        if isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            parts.append(inner.name)
            body = inner.body
            continue
        if isinstance(inner, ast.AnnAssign | ast.Assign) and (not parts or _is_class(tree, parts)):
            targets = [inner.target] if isinstance(inner, ast.AnnAssign) else inner.targets
            if len(targets) == 1 and isinstance(targets[0], ast.Name):
                parts.append(targets[0].id)
        return ".".join(parts)


def _first_line(node: ast.stmt) -> int:
    """A definition starts at its first decorator."""
    decorators: list[ast.expr] = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decorators)])


def _is_class(tree: ast.Module, parts: list[str]) -> bool:
    body: list[ast.stmt] = tree.body
    node: ast.stmt | None = None
    for name in parts:
        node = next(n for n in body if getattr(n, "name", None) == name)
        body = getattr(node, "body", [])
    return isinstance(node, ast.ClassDef)


Span = tuple[tuple[int, int], tuple[int, int]]


def annotation_spans(tree: ast.Module) -> list[Span]:
    """(start, end) positions (line, column) of every annotation in a module whose annotations
    stay strings (``from __future__ import annotations``); empty for any other module."""
    lazy = any(isinstance(node, ast.ImportFrom) and node.module == "__future__"
               and any(alias.name == "annotations" for alias in node.names) for node in tree.body)
    if not lazy:
        return []
    found: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.annotation is not None:
            found.append(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns is not None:
            found.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            found.append(node.annotation)
    return [((n.lineno, n.col_offset), (n.end_lineno or n.lineno, n.end_col_offset or 0)) for n in found]


def in_annotation(start: tuple[int, int], end: tuple[int, int], spans: Iterable[Span]) -> bool:
    return any(a <= start and end <= b for a, b in spans)


def exercises_for(file: str, scope: str, mapping: dict[str, dict[str, tuple[str, ...]]]
                  = EXERCISE_MAP) -> tuple[str, ...]:
    """The exercises of the longest mapped scope holding ``scope`` (empty: not mutated)."""
    scopes = mapping.get(file, {})
    best = max((prefix for prefix in scopes
                if prefix == "" or scope == prefix or scope.startswith(prefix + ".")),
               key=len, default=None)
    return scopes[best] if best is not None else ()


def enumerate_mutants(reference_dir: Path = REFERENCE_DIR,
                      mapping: dict[str, dict[str, tuple[str, ...]]] = EXERCISE_MAP,
                      skipped: dict[str, int] | None = None) -> list[Mutant]:
    """Every mutant cosmic-ray makes of the mapped files, with its scope and exercises, less the
    ones in unevaluated annotations (see :data:`RUNTIME_ANNOTATIONS`): their count by home
    exercise is added to ``skipped`` when given."""
    from cosmic_ray.commands.init import init
    from cosmic_ray.work_db import WorkDB, use_db

    paths = [reference_dir / file for file in sorted(mapping)]
    with tempfile.TemporaryDirectory(prefix="faultfirst-mutation-") as work, \
            use_db(Path(work) / "session.sqlite", WorkDB.Mode.create) as db:
        init(paths, db, {})
        specs = [m for item in db.pending_work_items for m in item.mutations]
    trees = {file: ast.parse((reference_dir / file).read_text(encoding="utf-8")) for file in mapping}
    lazy = {file: [] if file in RUNTIME_ANNOTATIONS else annotation_spans(tree)
            for file, tree in trees.items()}
    specs.sort(key=lambda s: (str(s.module_path), s.operator_name, s.occurrence))
    counters: dict[tuple[str, str, str], int] = defaultdict(int)
    mutants = []
    for spec in specs:
        file = Path(spec.module_path).relative_to(reference_dir).as_posix()
        line = spec.start_pos[0]
        scope = scope_of(trees[file], line)
        exercises = exercises_for(file, scope, mapping)
        if not exercises:
            continue
        if in_annotation(tuple(spec.start_pos), tuple(spec.end_pos), lazy[file]):
            if skipped is not None:
                skipped[exercises[0]] = skipped.get(exercises[0], 0) + 1
            continue
        k = counters[file, scope, spec.operator_name]
        counters[file, scope, spec.operator_name] += 1
        mutants.append(Mutant(file, spec.operator_name, spec.occurrence, line, scope, exercises,
                              f"{file}::{scope or '<module>'}::{spec.operator_name}#{k}"))
    return mutants


def operator_family(operator: str) -> str:
    """cosmic-ray's operator without its variant: ``core/ReplaceBinaryOperator_Add_Sub`` is
    ``core/ReplaceBinaryOperator`` (the sampling's strata)."""
    return operator.split("_", 1)[0]


def sample(mutants: Iterable[Mutant], per_exercise: int | None, seed: int,
           exercises: Sequence[str] | None = None) -> list[Mutant]:
    """The mutants of the chosen home exercises; with ``per_exercise``, that many of each,
    drawn with ``random.Random(seed)`` stratified by operator family (:func:`operator_family`):
    families are taken in turn (in a shuffled order), each giving a uniformly drawn mutant of its
    own, until the count is reached."""
    chosen = [m for m in mutants if exercises is None or m.exercise in exercises]
    if per_exercise is None:
        return chosen
    rng = random.Random(seed)
    picked: list[Mutant] = []
    by_exercise: dict[str, list[Mutant]] = defaultdict(list)
    for mutant in chosen:
        by_exercise[mutant.exercise].append(mutant)
    for exercise in sorted(by_exercise):
        by_operator: dict[str, list[Mutant]] = defaultdict(list)
        for mutant in by_exercise[exercise]:
            by_operator[operator_family(mutant.operator)].append(mutant)
        pools = [by_operator[op] for op in sorted(by_operator)]
        for pool in pools:
            rng.shuffle(pool)
        rng.shuffle(pools)
        taken: list[Mutant] = []
        while len(taken) < per_exercise and any(pools):
            for pool in pools:
                if pool and len(taken) < per_exercise:
                    taken.append(pool.pop())
        picked += taken
    return picked
