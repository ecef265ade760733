"""What a change to the reference can affect: which checks might give a changed app another verdict.

A flawed solution or a profile is the reference with a patch. A check whose app never ran a
changed piece of the reference's code sees the same app behave the same way, so its verdict is the
reference's, and calibration need not grade it again. Two things decide it:

**The change, as behaviour** (:func:`change_between`). The two folders are compared file by file.
A Python file is compared by its syntax tree, without docstrings or comments, scope by scope:

- the *skeleton* of a module is the code that runs when it is imported: its statements, its class
  bodies, each function's signature and decorators, but not the functions' bodies. A skeleton
  that differs changes the app everywhere (every start of the app imports it);
- each function's *body* (a nested function is the body of its own, and its definition a
  statement of the body it is in) is compared alone: a body that differs is a changed function,
  known by the lines its body spans in the reference.

Any other file that differs, or a file only one side has, changes the app everywhere.

**What ran** (:mod:`graders.harness.outer.coverage`). Calibration grades the reference under
coverage: each start of the app reports the lines it ran. A start *meets* the change when the
change is everywhere, when its lines are unknown, or when it ran a line of a changed function's
body. Every check served by a start that meets the change is graded again; the others keep the
reference's verdict.

What this takes for granted, and what calibration checks (``calibrate --no-reuse`` grades
everything; ``bench/calibration.py --verify`` compares): the app's behaviour depends on its code,
not on its docstrings, comments or line numbers; the app keeps no state on disk from one start to
the next; and a reference graded at the same level and seed runs the same lines (the union of every
grading of it is used, which only widens what a change meets).
"""

from __future__ import annotations

import ast
import copy
import difflib
import filecmp
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

Lines = Mapping[str, Iterable[int]]  # file (relative to the app folder) -> lines ran

# Left out of the comparison: what a grading or a Python run writes, not what the app is.
_NOT_THE_APP = ("__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis",
                ".faultfirst-coverage")


@dataclass(frozen=True, slots=True)
class Change:
    """What a changed app differs in from the reference.

    ``everywhere`` says why every start of the app meets the change (None when it does not);
    ``bodies`` maps a file to the line spans, in the reference, of the functions whose bodies
    changed."""

    everywhere: str | None = None
    bodies: dict[str, tuple[tuple[int, int], ...]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return self.everywhere is None and not self.bodies

    def met_by(self, lines: Lines | None) -> bool:
        """Whether a start of the app that ran ``lines`` (None: unknown) meets this change."""
        if self.everywhere is not None or lines is None:
            return not self.empty
        for path, spans in self.bodies.items():
            ran = lines.get(path)
            if ran and any(first <= line <= last for line in ran for first, last in spans):
                return True
        return False


def change_between(reference: Path, changed: Path) -> Change:
    """How the app folder ``changed`` differs from ``reference`` in behaviour (see the module)."""
    bodies: dict[str, list[tuple[int, int]]] = {}
    names: set[str] = set()
    modules: dict[str, tuple[Module, Module]] = {}
    for differing in _differing(reference, changed):
        before, after = reference / differing, changed / differing
        if not (before.is_file() and after.is_file()):
            return Change(f"{differing} is only in one of the two")
        if differing.suffix != ".py":
            return Change(f"{differing} differs (not Python)")
        try:
            modules[differing.as_posix()] = (Module.read(before), Module.read(after))
        except (SyntaxError, UnicodeDecodeError, ValueError) as error:
            return Change(f"{differing} cannot be compared ({type(error).__name__})")
    for path, (old, new) in modules.items():
        rebound, why = old.rebound(new)
        if why is not None:
            return Change(f"{path}: {why}")
        names |= rebound
        spans = old.changed_spans(new)
        if spans:
            bodies.setdefault(path, []).extend(spans)
    if names:
        # A rebound name reaches every body that mentions it (in the reference: the lines the
        # coverage speaks of), unless code run on import uses it, on either side.
        try:
            originals = _python_files(reference)
        except (SyntaxError, UnicodeDecodeError, ValueError) as error:
            return Change(f"a file of the reference cannot be read ({type(error).__name__}), so "
                          "the users of a changed name cannot be known")
        for path, module in [*originals.items(), *((p, new) for p, (_, new) in modules.items())]:
            why = module.uses_at_import(names)
            if why is not None:
                return Change(f"{path}: {why}")
        for path, module in originals.items():
            spans = [span for span, mentions in module.mentions.items() if mentions & names]
            if spans:
                bodies.setdefault(path, []).extend(spans)
    return Change(None, {path: tuple(sorted(set(spans))) for path, spans in bodies.items()})


def _python_files(folder: Path) -> dict[str, Module]:
    found = {}
    for path in sorted(folder.rglob("*.py")):
        relative = path.relative_to(folder)
        if any(part in _NOT_THE_APP for part in relative.parts):
            continue
        found[relative.as_posix()] = Module.read(path)
    return found


def _differing(left: Path, right: Path, below: Path = Path()) -> list[Path]:
    """Paths (relative) of the files that differ between two folders, or that only one has.
    Files are compared byte by byte: two files of one size and time can still differ."""
    compared = filecmp.dircmp(left / below, right / below, ignore=list(_NOT_THE_APP))
    _, unequal, unreadable = filecmp.cmpfiles(left / below, right / below, compared.common_files,
                                              shallow=False)
    found = [below / name for name in (*compared.left_only, *compared.right_only, *unequal,
                                       *unreadable, *compared.common_funny)]
    for name in compared.common_dirs:
        found += _differing(left, right, below / name)
    return sorted(found)


def changed_bodies(before: str, after: str) -> tuple[tuple[int, int], ...] | None:
    """The line spans (in ``before``) of the function bodies that differ between two versions of
    one module; None when code run on import differs (a binding changed; :func:`change_between`
    follows a changed binding to the code that uses it)."""
    old, new = Module.parse(before), Module.parse(after)
    if old.rebound(new) != (set(), None):
        return None
    return tuple(sorted(old.changed_spans(new)))


_Function = ast.FunctionDef | ast.AsyncFunctionDef
_PLAIN_BINDINGS = (ast.Assign, ast.AnnAssign, ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass
class Module:
    """One Python file as the comparison sees it.

    ``imports``: each name its top-level imports bind, and what it is bound to;
    ``statements``: the rest of the code run on import, one entry per statement (a class's body
    statements each count, prefixed by the class), as ``(dump, names it binds, the statement)``;
    ``bodies``: each function's body by qualified name, ``(dump, lines it spans)``;
    ``mentions``: for each body's span, the names it mentions (variables, attributes, strings)."""

    imports: dict[str, str]
    statements: list[tuple[str, frozenset[str], ast.stmt]]
    bodies: dict[str, tuple[str, tuple[int, int]]]
    mentions: dict[tuple[int, int], frozenset[str]]

    @classmethod
    def read(cls, path: Path) -> Module:
        return cls.parse(path.read_text(encoding="utf-8"))

    @classmethod
    def parse(cls, text: str) -> Module:
        tree = ast.parse(text)
        imports: dict[str, str] = {}
        rest: list[ast.stmt] = []
        for node in _without_docstring(tree.body):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                imports.update(_imported(node))
            else:
                rest.append(node)
        statements: list[tuple[str, frozenset[str], ast.stmt]] = []
        _statements(rest, "", statements)
        bodies: dict[str, tuple[str, tuple[int, int]]] = {}
        mentions: dict[tuple[int, int], frozenset[str]] = {}
        _collect_bodies(tree.body, "", bodies, mentions)
        return cls(imports, statements, bodies, mentions)

    def rebound(self, new: Module) -> tuple[set[str], str | None]:
        """(the names whose import-time binding differs, or why the change is everywhere)."""
        names = {name for name in self.imports.keys() | new.imports.keys()
                 if self.imports.get(name) != new.imports.get(name)}
        matcher = difflib.SequenceMatcher(a=[d for d, _, _ in self.statements],
                                          b=[d for d, _, _ in new.statements], autojunk=False)
        for tag, a1, a2, b1, b2 in matcher.get_opcodes():
            if tag == "equal":
                continue
            for _, bound, node in (*self.statements[a1:a2], *new.statements[b1:b2]):
                if not isinstance(node, _PLAIN_BINDINGS) or not bound:
                    return names, f"import-time code differs (line {node.lineno})"
                names |= bound
        return names, None

    def changed_spans(self, new: Module) -> list[tuple[int, int]]:
        """The line spans (here) of the function bodies ``new`` lacks or has otherwise."""
        return [span for name, (dump, span) in self.bodies.items()
                if name not in new.bodies or new.bodies[name][0] != dump]

    def uses_at_import(self, names: set[str]) -> str | None:
        """Why code run on import here uses one of ``names`` (None when none does): a value
        made on import would differ, so every start of the app would meet the change."""
        for _, bound, node in self.statements:
            used = (_mentioned(node, skip_bodies=True) - bound) & names
            if used:
                return f"import-time code uses {', '.join(sorted(used))} (line {node.lineno})"
        return None


def _imported(node: ast.Import | ast.ImportFrom) -> dict[str, str]:
    """The names an import binds, each with what it binds it to."""
    if isinstance(node, ast.Import):
        return {(alias.asname or alias.name).split(".")[0]: alias.name for alias in node.names}
    source = "." * node.level + (node.module or "")
    return {alias.asname or alias.name: f"{source}:{alias.name}" for alias in node.names}


def _statements(nodes: list[ast.stmt], prefix: str,
                into: list[tuple[str, frozenset[str], ast.stmt]]) -> None:
    for node in nodes:
        if isinstance(node, ast.ClassDef):
            header = ast.ClassDef(name=node.name, bases=node.bases, keywords=node.keywords,
                                  body=[ast.Pass()], decorator_list=node.decorator_list)
            into.append((prefix + _dump(header), frozenset({node.name}), node))
            before = len(into)
            _statements(_without_docstring(node.body), f"{prefix}{node.name}.", into)
            # A class body's statement binds the attribute, and changes the class as a whole
            # (a model's field changes its validation wherever the model is used).
            for index in range(before, len(into)):
                dump, bound, stmt = into[index]
                into[index] = (dump, bound | {node.name}, stmt)
        else:
            into.append((prefix + _hollow([node]), frozenset(_bound(node)), node))


def _bound(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        targets = [node.target]
    return {n.id for target in targets for n in ast.walk(target) if isinstance(n, ast.Name)}


def _mentioned(node: ast.AST, skip_bodies: bool) -> set[str]:
    """Every name, attribute name and short string ``node`` mentions (with ``skip_bodies``,
    not inside function bodies, which do not run on import)."""
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, ast.Name):
            found.add(item.id)
        elif isinstance(item, ast.Attribute):
            found.add(item.attr)
        elif isinstance(item, ast.alias):
            found.add(item.name.split(".")[-1])
        elif isinstance(item, ast.Constant) and isinstance(item.value, str) and len(item.value) < 80:
            found.add(item.value)
        if skip_bodies and isinstance(item, _Function):
            stack += [*item.decorator_list, item.args, *([item.returns] if item.returns else [])]
            continue
        stack += list(ast.iter_child_nodes(item))
    return found


def _collect_bodies(nodes: Iterable[ast.AST], prefix: str,
                    bodies: dict[str, tuple[str, tuple[int, int]]],
                    mentions: dict[tuple[int, int], frozenset[str]]) -> None:
    for node in nodes:
        if isinstance(node, _Function):
            name = f"{prefix}{node.name}"
            body = _without_docstring(node.body) or node.body
            span = (min(n.lineno for n in ast.walk(body[0]) if hasattr(n, "lineno")),
                    max(n.end_lineno or n.lineno for n in body))
            key, count = name, 2
            while key in bodies:  # a redefinition: the second keeps its own entry
                key, count = f"{name}#{count}", count + 1
            bodies[key] = (_hollow(body), span)
            hollow = _Hollow().visit(ast.Module(body=copy.deepcopy(body), type_ignores=[]))
            mentions[span] = frozenset(_mentioned(hollow, skip_bodies=False))
            _collect_bodies(ast.iter_child_nodes(node), f"{name}.<locals>.", bodies, mentions)
        elif isinstance(node, ast.ClassDef):
            _collect_bodies(node.body, f"{prefix}{node.name}.", bodies, mentions)
        else:
            _collect_bodies(ast.iter_child_nodes(node), prefix, bodies, mentions)


def _without_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    first = body[0] if body else None
    if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)):
        return body[1:]
    return body


class _Hollow(ast.NodeTransformer):
    """A copy without docstrings, and with each function's body replaced by ``...`` (the
    function's own code is compared separately)."""

    def _function(self, node: _Function) -> _Function:
        node.body = [ast.Expr(ast.Constant(...))]
        for item in (*node.decorator_list, node.args, *([node.returns] if node.returns else ())):
            self.visit(item)
        return node

    visit_FunctionDef = _function  # ast.NodeTransformer looks its visitors up by these names
    visit_AsyncFunctionDef = _function

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.ClassDef:
        node.body = _without_docstring(node.body) or [ast.Pass()]
        self.generic_visit(node)
        return node


def _dump(node: ast.AST) -> str:
    return ast.dump(node, annotate_fields=False, include_attributes=False)


def _hollow(nodes: list[ast.stmt]) -> str:
    module = ast.Module(body=copy.deepcopy(nodes), type_ignores=[])
    return _dump(_Hollow().visit(module))
