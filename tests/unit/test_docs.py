"""The docs cannot drift from the code: messages, named tests, config fields, and where the design lives."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from kedro_azureml_mlflow.settings.config import PluginConfig
from kedro_azureml_mlflow.settings.descriptions import field_descriptions
from tests.error_messages import PACKAGE, Message, package_messages

REPO = PACKAGE.parent
DOCS = REPO / "docs"
TROUBLESHOOTING = DOCS / "troubleshooting.md"
# Messages whose text comes from another tool, and the documented entry that covers them.
PASSED_THROUGH = {
    (
        "kedro_azureml_mlflow/cli/run_args.py",
        "_cut_items(exc.message, value)",
    ): "Error: Invalid format of `params` option: ",
    # The tracking agent's answer about the workspace: AzureWorkspace.errors' own messages.
    (
        "kedro_azureml_mlflow/tracking/pipeline_side/tracked_run.py",
        "answer.error",
    ): "Error: Could not sign in to Azure",
}
_HEADING = re.compile(r"^#{2,4} (`+) ?(.*?) ?\1$", re.MULTILINE)
_TEST_REFERENCE = re.compile(r"(tests/[\w/]+\.py)::(\w+)")


def documented_messages() -> list[str]:
    """The messages troubleshooting.md documents: each is a heading that is one code span."""
    return [match.group(2) for match in _HEADING.finditer(TROUBLESHOOTING.read_text())]


def _covers(entry: str, message: Message) -> bool:
    is_error = entry.startswith("Error: ")
    if is_error != (message.kind == "error"):
        return False
    return re.fullmatch(message.pattern, entry.removeprefix("Error: "), re.DOTALL) is not None


def test_every_message_the_plugin_can_print_is_documented() -> None:
    messages, unreadable = package_messages()
    entries = documented_messages()
    passed_through = {key for key in PASSED_THROUGH if any(u.startswith(f"{key[0]}:") for u in unreadable)}
    unexplained = [
        u
        for u in unreadable
        if not any(u.startswith(f"{path}:") and f"`{source}`" in u for path, source in passed_through)
    ]
    assert unexplained == [], "messages whose text cannot be read from the source (name them in PASSED_THROUGH)"
    missing = [f"{m.where}: {m.source}" for m in messages if not any(_covers(entry, m) for entry in entries)]
    assert missing == [], f"add these to {TROUBLESHOOTING.relative_to(REPO)}"
    covered = set(PASSED_THROUGH.values())
    stale = [
        e for e in entries if not any(_covers(e, m) for m in messages) and not any(e.startswith(c) for c in covered)
    ]
    assert stale == [], "documented, but the plugin cannot print them any more"


def test_the_message_reader_sees_what_it_should() -> None:
    """The reader itself: a known error, a known warning and a message built in another function."""
    messages, _ = package_messages()
    where = {(m.where.split(":")[0], m.kind) for m in messages}
    assert ("kedro_azureml_mlflow/settings/init_config.py", "error") in where
    assert ("kedro_azureml_mlflow/tracking/agent/sender.py", "warning") in where
    built_elsewhere = [m for m in messages if m.where.startswith("kedro_azureml_mlflow/settings/config_loading.py")]
    assert any("unknown\\ key" in m.pattern for m in built_elsewhere)  # via validation.describe_error
    assert len(documented_messages()) > 40


def _markdown_files() -> list[Path]:
    return [REPO / "README.md", REPO / "benchmarks" / "README.md", *sorted(DOCS.rglob("*.md"))]


def test_every_test_the_docs_name_exists() -> None:
    named = {(file, test) for path in _markdown_files() for file, test in _TEST_REFERENCE.findall(path.read_text())}
    assert len(named) > 10  # reliability.md names the test behind each guarantee
    missing = []
    for file, test in sorted(named):
        source = REPO / file
        tree = ast.parse(source.read_text()) if source.is_file() else ast.Module(body=[], type_ignores=[])
        functions = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
        if test not in functions:
            missing.append(f"{file}::{test}")
    assert missing == []


def _models(model: type[BaseModel]) -> list[type[BaseModel]]:
    found = [model]
    for field in model.model_fields.values():
        for candidate in (field.annotation, *getattr(field.annotation, "__args__", ())):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                found += _models(candidate)
    return found


@pytest.mark.parametrize("model", _models(PluginConfig), ids=lambda m: m.__name__)
def test_every_config_key_has_a_description_for_the_reference(model: type[BaseModel]) -> None:
    assert model.__doc__, f"{model.__name__} needs a docstring: it introduces its section"
    described = field_descriptions(model)
    undescribed = [name for name in model.model_fields if not described.get(name)]
    assert undescribed == [], f"{model.__name__}: put a docstring under each of these fields"
