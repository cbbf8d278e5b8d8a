"""Each config key's description: the docstring written under its field, read from the source on demand.

Pydantic's ``use_attribute_docstrings`` reads the same docstrings while the models are defined, that
is at every ``kedro run`` (about 26 ms of the hooks' import); only the configuration reference and
its test need them, so they read them here.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import textwrap

from pydantic import BaseModel


def field_descriptions(model: type[BaseModel]) -> dict[str, str]:
    """``{field: the docstring under it}`` for ``model`` and the models it inherits fields from."""
    found: dict[str, str] = {}
    for cls in reversed(model.__mro__):  # a subclass's docstring wins over its base's
        if isinstance(cls, type) and issubclass(cls, BaseModel) and cls is not BaseModel:
            found.update(_docstrings_under_fields(cls))
    return found


def _docstrings_under_fields(cls: type) -> dict[str, str]:
    definition = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0]  # the class statement itself
    found: dict[str, str] = {}
    for statement, following in itertools.pairwise(getattr(definition, "body", [])):
        if (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            found[statement.target.id] = inspect.cleandoc(following.value.value)
    return found
