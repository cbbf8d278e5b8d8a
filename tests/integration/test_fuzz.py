"""Property-based: generated ``azureml.yml`` documents and ``kedro azureml`` command lines.

Every input either succeeds or gives a clear error (``Error:`` lines naming the file, or the option,
and what was expected) and a non-zero exit; no input raises anything else (what a user would see as
a traceback). Both run in-process (the project's real Kedro config loader, click's ``CliRunner``), so
the 1,200 examples cost seconds. ``pytest --hypothesis-show-statistics`` prints the tally of outcomes.
"""

from __future__ import annotations

import os
import string
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, event, example, given, settings
from hypothesis import strategies as st

from kedro_azureml_mlflow.core.errors import ConfigError
from kedro_azureml_mlflow.settings.config import PluginConfig
from kedro_azureml_mlflow.settings.config_loading import load_plugin_config
from tests.kedro_project import KedroProject

FUZZ = settings(
    max_examples=600,
    deadline=None,
    database=None,
    # CI (.ci/run) draws the same 1,200 inputs every time, so a red CI is a change's doing, never a new
    # draw's; anywhere else every run draws new ones. A failure found that way becomes a regression test.
    derandomize=os.environ.get("KEDRO_AZUREML_MLFLOW_FUZZ_SEEDED") == "1",
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate, Phase.shrink],  # no slow "explain" phase in CI
)
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # Kedro's resolver deprecation, once per loader

# Strings the plugin treats specially, mixed with arbitrary text.
NOTABLE = [
    "foo://", "garbage", "azureml://h/mlflow/v1.0/x", "sqlite:///x.db", "http://u:sk-p@127.0.0.1:9",
    "team/exp", "${oc.env:HOME}", "${missing}", "x" * 600, "", " ", "fail", "tag", "truncate", "warn",
    "default", "cli", "pytorch", "*metrics", "[", "{", "- a", "'", "..", "../../etc", "base", "local",
]  # fmt: skip


def _field_names(model: Any) -> set[str]:
    names: set[str] = set()
    for name, field in model.model_fields.items():
        names.add(name)
        for candidate in (field.annotation, *getattr(field.annotation, "__args__", ())):
            if hasattr(candidate, "model_fields"):
                names |= _field_names(candidate)
    return names


KEYS = st.sampled_from(sorted(_field_names(PluginConfig))) | st.text(min_size=1, max_size=12)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**12)
    | st.floats()
    | st.sampled_from(NOTABLE)
    | st.text(max_size=30)
)
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4), max_leaves=12
)
SECTIONS = st.dictionaries(
    st.sampled_from(list(PluginConfig.model_fields)) | KEYS,
    st.dictionaries(KEYS, VALUES, max_size=6) | VALUES,
    max_size=5,
)
DOCUMENTS = (
    SECTIONS.map(lambda doc: yaml.safe_dump(doc, allow_unicode=True))
    | VALUES.map(lambda value: yaml.safe_dump(value, allow_unicode=True))
    | st.text(max_size=80)
)


@pytest.fixture(scope="module")
def conf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz-conf") / "conf"
    (root / "base").mkdir(parents=True)
    (root / "local").mkdir()
    return root


@FUZZ
@given(base=DOCUMENTS, local=st.none() | DOCUMENTS)
@example(base="{}\n", local="'0'")  # found by an unseeded run: omegaconf asserted on the quoted scalar
def test_any_azureml_yml_is_valid_or_clear_errors_naming_the_file(conf: Path, base: str, local: str | None) -> None:
    from kedro.config import OmegaConfigLoader

    files = [conf / "base" / "azureml.yml", conf / "local" / "azureml.yml"]
    files[0].write_text(base)
    files[1].unlink(missing_ok=True)
    if local is not None:
        files[1].write_text(local)
    loader = OmegaConfigLoader(str(conf), base_env="base", default_run_env="local")
    try:
        load_plugin_config(loader, [conf / "base", conf / "local"])
    except ConfigError as exc:
        lines = exc.message.splitlines()
        named = (str(files[0]), str(files[1]))
        assert lines and all(line.startswith(named) and len(line) < 600 for line in lines), exc.message
        event("clear error")
    else:
        event("valid")


# --------------------------------------------------------------------------------------- the CLI

TEXT = st.text(alphabet=string.printable, max_size=24) | st.sampled_from(NOTABLE)
ENVS = st.none() | st.sampled_from(["base", "local", "lcoal", "../../x", "/etc", "prod", ".hidden", "a/b"]) | TEXT
PORTS = st.integers(-5, 70000).map(str) | TEXT
HOSTS = ["127.0.0.1", "nohost.invalid", "::1"]


def _opt(name: str, values: st.SearchStrategy[Any]) -> st.SearchStrategy[list[str]]:
    return (st.none() | values).map(lambda value: [] if value is None else [name, str(value)])


def _command(name: str, *options: st.SearchStrategy[list[str]]) -> st.SearchStrategy[list[str]]:
    return st.tuples(*options).map(lambda parts: [name, *(arg for part in parts for arg in part)])


COMMANDS = st.one_of(
    _command("init", _opt("--env", ENVS), st.sampled_from([[], ["--force"]])),
    _command("runs", _opt("--env", ENVS), _opt("--last", PORTS)),
    _command("ui", _opt("--env", ENVS), _opt("--port", PORTS), _opt("--host", st.sampled_from(HOSTS))),
    _command(
        "submit",
        _opt("--env", ENVS),
        _opt("--params", TEXT | st.sampled_from(["a=1", "x='q", "hf_token=1", "a..b=1", "=1", "a=[1,"])),
        _opt("--nodes", TEXT | st.sampled_from(["evaluate", "evalute", "curve,score"])),
        _opt("--tags", TEXT),
        _opt("--pipeline", TEXT | st.sampled_from(["training", "failing", "trainign"])),
        _opt("--experiment", TEXT),
    ),
    _command("sync", _opt("--env", ENVS)),
    st.tuples(st.sampled_from(["status", "logs", "cancel"]), TEXT).map(list),
    st.lists(TEXT, max_size=3),
)  # fmt: skip


@pytest.fixture(scope="module")
def cli_project(kedro_new_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The test project, bootstrapped in this process, its embedded store made once."""
    import shutil

    from kedro.framework.startup import bootstrap_project

    path = tmp_path_factory.mktemp("fuzz-cli") / "probe"
    shutil.copytree(kedro_new_project, path)
    KedroProject(path).client().get_experiment_by_name("probe")  # create mlflow.db once, not per example
    saved = dict(os.environ)
    for key in [k for k in os.environ if k.startswith(("MLFLOW_", "AZUREML_", "AZURE_"))]:
        del os.environ[key]
    cwd = Path.cwd()
    os.chdir(path)
    try:
        yield bootstrap_project(path)
    finally:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(saved)


def _no_server(command: list[str], cwd: Path, env: Mapping[str, str]) -> int:
    """``ui`` would start MLflow's server; the property is about its arguments, so it starts nothing."""
    return 0


@pytest.mark.slow
@FUZZ
@given(args=COMMANDS)
def test_any_command_line_succeeds_or_exits_non_zero_with_one_error_line(
    cli_project: Any, monkeypatch_module: pytest.MonkeyPatch, args: list[str]
) -> None:
    from kedro_azureml_mlflow.cli import commands

    result = CliRunner().invoke(commands, ["azureml", *args], obj=cli_project, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # what a user would see as a traceback
    assert set(cli_project.project_path.parent.iterdir()) == {cli_project.project_path}  # nothing written outside
    if result.exit_code == 0:
        assert "Error: " not in result.output, result.output
        event("success")
        return
    if not args and "Commands:" in result.output:
        event("help (bare group, click exits 2)")
        return
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.output
    # The plugin's own errors (exit 1) stay short whatever the input; click's usage errors (exit 2) quote it whole.
    assert result.exit_code == 2 or len(errors[0]) < 600, result.output
    event(f"clear error (exit {result.exit_code})")


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        # Where ``ui`` starts the server (it waits for it until stopped: a real one would hang the test).
        patch.setattr("kedro_azureml_mlflow.cli.ui.serve", _no_server)
        patch.setattr(sys, "argv", ["kedro"])
        yield patch
