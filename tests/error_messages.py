"""Every message the plugin can show a user, read from its source, as patterns to find in the docs.

A message is the first argument of a ``raise`` of a user-facing exception (``PluginError``,
``ConfigError``, their subclasses, click's exceptions) or of a ``logger.warning/error/…`` call.
Its text becomes a regular expression: literal parts must match exactly, each ``{value}`` of an
f-string and each ``%s`` of a log format matches anything (the docs write ``<file>`` there).
A message built elsewhere is followed one step: to a local variable's assignment, or to the
``return`` values of a function of the same module that builds it.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "kedro_azureml_mlflow"
ROOT_EXCEPTIONS = {"PluginError", "ConfigError", "ClickException", "UsageError", "BadParameter"}
LOG_METHODS = {"warning", "error", "exception", "critical"}
LOGGERS = {"logger", "log", "_logger", "_plugin_logger", "logging"}
ANY = ".*?"
_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[sdrifgex]")


@dataclass(frozen=True)
class Message:
    """Where a message is raised or logged, and the pattern its text follows."""

    where: str  # kedro_azureml_mlflow/<module>.py:<line>
    kind: str  # "error" or "warning"
    pattern: str  # a regular expression over the message text
    source: str  # the expression, as written

    def literal_length(self) -> int:
        return len(re.sub(r"\\(.)", r"\1", self.pattern.replace(ANY, "")))


def user_facing_exceptions(modules: dict[Path, ast.Module]) -> set[str]:
    """The root exceptions and every class of the package that derives from one of them."""
    names = set(ROOT_EXCEPTIONS)
    classes = [node for tree in modules.values() for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
    changed = True
    while changed:
        changed = False
        for cls in classes:
            if cls.name not in names and any(_name(base) in names for base in cls.bases):
                names.add(cls.name)
                changed = True
    return names


def package_messages(package: Path = PACKAGE) -> tuple[list[Message], list[str]]:
    """(messages, problems): a problem is a message whose text cannot be read from the source."""
    modules = {path: ast.parse(path.read_text(), str(path)) for path in sorted(package.rglob("*.py"))}
    exceptions = user_facing_exceptions(modules)
    functions = _functions(modules)
    found: list[Message] = []
    problems: list[str] = []
    for path, tree in modules.items():
        reader = _ModuleReader(path, exceptions, functions)
        reader.visit(tree)
        found += reader.messages
        problems += reader.problems
    return found, problems


def _functions(modules: dict[Path, ast.Module]) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    """The package's functions by name, for following a message to where it is built (unique names only)."""
    found: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] = {}
    for tree in modules.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                found.setdefault(node.name, []).append(node)
    return {name: nodes[0] for name, nodes in found.items() if len(nodes) == 1}


class _ModuleReader(ast.NodeVisitor):
    def __init__(
        self, path: Path, exceptions: set[str], functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef]
    ) -> None:
        self.where = path.relative_to(PACKAGE.parent).as_posix()
        self.exceptions = exceptions
        self.functions = functions
        self.scope: list[ast.AST] = []
        self.messages: list[Message] = []
        self.problems: list[str] = []

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.scope.append(node)
        self.generic_visit(node)
        self.scope.pop()

    visit_AsyncFunctionDef = visit_FunctionDef  # same walk for async functions

    def visit_Call(self, node: ast.Call) -> None:
        kind = self._kind(node)
        argument = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "message"), None)
        if kind is not None and argument is not None:
            where = f"{self.where}:{node.lineno}"
            patterns = self._patterns(argument, percent=kind == "warning", depth=0)
            if not patterns:
                self.problems.append(f"{where}: cannot read the message text from `{ast.unparse(argument)}`")
            for pattern in patterns:
                self.messages.append(Message(where, kind, pattern, ast.unparse(argument)))
        self.generic_visit(node)

    def _kind(self, node: ast.Call) -> str | None:
        func = node.func
        if _name(func) in self.exceptions:
            return "error"
        if isinstance(func, ast.Attribute) and func.attr in LOG_METHODS and _name(func.value) in LOGGERS:
            return "warning"
        return None

    def _patterns(self, node: ast.expr, percent: bool, depth: int) -> list[str]:
        """The patterns an expression's text can follow; [] if it cannot be read from the source."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = re.escape(node.value)
            return [_PERCENT.sub(ANY, text.replace("%%", "%")) if percent else text]
        if isinstance(node, ast.JoinedStr):
            return ["".join(self._fstring_part(part) for part in node.values)]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self._patterns(node.left, percent, depth), self._patterns(node.right, percent, depth)
            return [a + b for a in left for b in right]
        if isinstance(node, ast.IfExp):
            return self._patterns(node.body, percent, depth) + self._patterns(node.orelse, percent, depth)
        if depth < 6:
            return self._followed(node, percent, depth + 1)
        return []

    def _fstring_part(self, part: ast.expr) -> str:
        if isinstance(part, ast.Constant):
            return re.escape(str(part.value))
        return ANY

    def _followed(self, node: ast.expr, percent: bool, depth: int) -> list[str]:
        """A message built elsewhere: a local variable, a package function, ``"sep".join(…)`` or a comprehension."""
        if isinstance(node, ast.GeneratorExp | ast.ListComp):
            return self._patterns(node.elt, percent, depth)
        if isinstance(node, ast.Name) and self.scope:
            values = [
                assign.value
                for assign in ast.walk(self.scope[-1])
                if isinstance(assign, ast.Assign) and any(_name(t) == node.id for t in assign.targets)
            ]
            return [p for value in values for p in self._patterns(value, percent, depth)]
        if isinstance(node, ast.Call) and _name(node.func) in self.functions:
            function = self.functions[_name(node.func)]
            returns = [r.value for r in ast.walk(function) if isinstance(r, ast.Return) and r.value is not None]
            return [p for value in returns for p in self._patterns(value, percent, depth)]
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "join"
            and node.args
        ):
            return self._patterns(node.args[0], percent, depth)
        return []


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


if __name__ == "__main__":
    messages, problems = package_messages()
    for message in messages:
        print(f"{message.where:50} {message.kind:8} {message.pattern}")
    print("\n".join(problems))
