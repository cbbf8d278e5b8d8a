"""Azure ML's search-space expressions (``choice(0.1, 1.0)``, ``uniform(0, 1)``, …), parsed and sampled.

The same text works locally and in an Azure ML sweep job, so the grammar and the meaning of each
distribution are Azure ML's (``azure.ai.ml.sweep``): ``loguniform(a, b)`` is ``exp(uniform(a, b))``,
``randint(upper)`` draws from ``0 … upper-1``, the ``q`` variants round to a multiple of ``q``.
Expressions are read with :mod:`ast`, never evaluated.
"""

from __future__ import annotations

import ast
import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from kedro_azureml_mlflow.core.errors import PluginError, quoted

Value = int | float | str | bool

# Every distribution but choice: its arguments, in Azure ML's order.
SIGNATURES: dict[str, tuple[str, ...]] = {
    "uniform": ("min_value", "max_value"),
    "loguniform": ("min_value", "max_value"),
    "quniform": ("min_value", "max_value", "q"),
    "qloguniform": ("min_value", "max_value", "q"),
    "randint": ("upper",),
    "normal": ("mu", "sigma"),
    "lognormal": ("mu", "sigma"),
    "qnormal": ("mu", "sigma", "q"),
    "qlognormal": ("mu", "sigma", "q"),
}
KINDS = ("choice", *SIGNATURES)


@dataclass(frozen=True)
class Expression:
    """One distribution: its kind and its arguments (the values of a ``choice``)."""

    kind: str
    args: tuple[Value, ...]

    def text(self) -> str:
        """The expression as Azure ML writes it (what the parent run logs as a param)."""
        return f"{self.kind}({', '.join(repr(arg) for arg in self.args)})"

    def sample(self, rng: random.Random) -> Value:
        """One value drawn as Azure ML's random sampling draws it."""
        if self.kind == "choice":
            return rng.choice(self.args)
        return _DRAW[self.kind](rng, *(float(arg) for arg in self.args))


@dataclass(frozen=True)
class SearchDimension:
    """A Kedro parameter (dotted name) and the expression its trial values come from."""

    name: str
    expression: Expression


def _rounded(value: float, q: float) -> float:
    return round(value / q) * q


_DRAW: dict[str, Callable[..., Value]] = {
    "uniform": lambda rng, low, high: rng.uniform(low, high),
    "loguniform": lambda rng, low, high: math.exp(rng.uniform(low, high)),
    "quniform": lambda rng, low, high, q: _rounded(rng.uniform(low, high), q),
    "qloguniform": lambda rng, low, high, q: _rounded(math.exp(rng.uniform(low, high)), q),
    "randint": lambda rng, upper: rng.randrange(int(upper)),
    "normal": lambda rng, mu, sigma: rng.gauss(mu, sigma),
    "lognormal": lambda rng, mu, sigma: math.exp(rng.gauss(mu, sigma)),
    "qnormal": lambda rng, mu, sigma, q: _rounded(rng.gauss(mu, sigma), q),
    "qlognormal": lambda rng, mu, sigma, q: _rounded(math.exp(rng.gauss(mu, sigma)), q),
}


def parse_search(text: str) -> SearchDimension:
    """``"model.C=choice(0.1, 1.0)"`` as a dimension; one error line naming the item otherwise."""
    name, separator, expression = text.partition("=")
    name = name.strip()
    if not separator or not name:
        raise PluginError(f"--search {quoted(text)}: expected name=expression, e.g. model.C=choice(0.1, 1.0)")
    return SearchDimension(name, parse_expression(expression, name))


def parse_expression(text: str, name: str) -> Expression:
    """An Azure ML search expression; ``name`` is only for the error line."""
    where = f"--search {quoted(name)}: {quoted(text.strip())}"
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        raise PluginError(f"{where} does not parse; expected e.g. choice(0.1, 1.0) or uniform(0, 1)") from None
    if not (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name)) or tree.keywords:
        raise PluginError(f"{where} is not a call like choice(0.1, 1.0) with positional arguments")
    kind = tree.func.id
    if kind not in KINDS:
        raise PluginError(f"{where}: unknown expression {kind!r}; expected one of {', '.join(KINDS)}")
    args = tuple(_literal(arg, where) for arg in tree.args)
    return _checked(Expression(kind, args), where)


def _literal(node: ast.expr, where: str) -> Value:
    try:
        value = ast.literal_eval(node)
    except ValueError:
        raise PluginError(f"{where}: arguments must be literal numbers or strings") from None
    if not isinstance(value, (int, float, str, bool)):
        raise PluginError(f"{where}: arguments must be numbers or strings, got {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise PluginError(f"{where}: arguments must be finite numbers")
    if isinstance(value, str) and any(char in value for char in ",'\"="):
        raise PluginError(f"{where}: {value!r} cannot be passed to kedro run --params (it holds , ' \" or =)")
    return value


def _checked(expression: Expression, where: str) -> Expression:
    kind, args = expression.kind, expression.args
    if kind == "choice":
        if not args:
            raise PluginError(f"{where}: choice needs at least one value")
        if len(set(map(repr, args))) != len(args):
            raise PluginError(f"{where}: choice has a value twice")
        return expression
    names = SIGNATURES[kind]
    if len(args) != len(names):
        raise PluginError(f"{where}: {kind} takes {len(names)} arguments ({', '.join(names)}), got {len(args)}")
    if not all(isinstance(arg, (int, float)) and not isinstance(arg, bool) for arg in args):
        raise PluginError(f"{where}: {kind}'s arguments must be numbers")
    numbers = [float(arg) for arg in args]
    if kind == "randint":
        if not float(numbers[0]).is_integer() or numbers[0] < 1:
            raise PluginError(f"{where}: randint's upper bound must be a whole number of at least 1")
    elif kind.endswith("uniform") and numbers[0] >= numbers[1]:
        raise PluginError(f"{where}: min_value must be less than max_value")
    elif kind.endswith("normal") and numbers[1] <= 0:
        raise PluginError(f"{where}: sigma must be greater than 0")
    if names[-1] == "q" and numbers[-1] <= 0:
        raise PluginError(f"{where}: q must be greater than 0")
    return expression
