"""Bad input through the real ``kedro`` CLI: one ``Error:`` line, a non-zero exit, no traceback, nothing
written where it should not be; and secrets planted in params, ``--params`` and the tracking URI found
nowhere the plugin wrote."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from tests.kedro_project import KedroProject, clean_env

pytestmark = pytest.mark.slow

SECRET_PARAMS = """\
db:
  host: db.example
  password: sk-planted-nested-1111
api_key: sk-planted-flat-2222
credentials:
  client_secret: sk-planted-deep-3333
"""
CLI_SECRET = "sk-planted-cli-4444"
URI_SECRET = "sk-planted-uri-5555"
PLANTED = ("sk-planted-nested-1111", "sk-planted-flat-2222", "sk-planted-deep-3333", CLI_SECRET, URI_SECRET)


def one_error_line(result: object) -> str:
    """The failing command's single ``Error:`` line (after checking there is no traceback)."""
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert "Traceback" not in output and "│" not in output, output[-3000:]  # plain or rich traceback
    errors = [line for line in output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, output[-3000:]
    return errors[0]


def files_under(root: Path, skip: Path) -> set[Path]:
    return {p for p in root.rglob("*") if skip not in p.parents and p != skip}


def found_in(root: Path, needles: tuple[str, ...]) -> dict[str, list[str]]:
    """Which planted needles occur in which files under ``root`` but outside the user's own ``conf/``
    (read as bytes, so SQLite pages count too)."""
    hits: dict[str, list[str]] = {}
    for path in root.rglob("*"):
        if path.is_file() and root / "conf" not in path.parents:
            data = path.read_bytes()
            for needle in needles:
                if needle.encode() in data:
                    hits.setdefault(needle, []).append(str(path))
    return hits


def test_planted_secrets_are_stored_logged_and_tagged_nowhere(project: KedroProject) -> None:
    project.write("conf/base/parameters_secrets.yml", SECRET_PARAMS)
    tracked = project.run("--params", f"cli_token={CLI_SECRET},model.alpha=0.5")
    [run] = project.runs()
    assert run.data.params["db.password"] == "<redacted>" and run.data.params["api_key"] == "<redacted>"
    assert run.data.params["credentials"] == "<redacted>" and run.data.params["cli_token"] == "<redacted>"
    assert run.data.params["db.host"] == "db.example" and run.data.params["model.alpha"] == "0.5"
    assert run.data.tags["kedro.command"] == "kedro run --params cli_token=<redacted>,model.alpha=0.5"

    # The same run against a dead server whose URI holds a password: journaled, nothing printed.
    project.write("conf/base/azureml.yml", f"tracking:\n  tracking_uri: http://bob:{URI_SECRET}@127.0.0.1:9\n")
    dead = project.kedro(
        "run", "--params", f"cli_token={CLI_SECRET}", env=clean_env(MLFLOW_HTTP_REQUEST_MAX_RETRIES="0")
    )
    assert dead.returncode == 0, dead.stderr[-3000:]
    assert "http://bob:<redacted>@127.0.0.1:9" in dead.stdout + dead.stderr  # the INFO line says where runs go

    logs = tracked.stdout + tracked.stderr + dead.stdout + dead.stderr
    assert [needle for needle in PLANTED if needle in logs] == []
    hits = found_in(project.path, PLANTED)
    # The journal's header keeps the tracking URI to replay into; keeping its password out of it is the
    # journal's own work (issue 11, item 2): every other byte the plugin wrote is checked here.
    journal_headers = [p for p in hits.pop(URI_SECRET, []) if ".kedro_azureml_mlflow/journal/" in p]
    assert hits == {}, hits
    assert all(p.endswith(".jsonl") for p in journal_headers)
    assert not any(needle.encode() in (project.path / "mlflow.db").read_bytes() for needle in PLANTED)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["azureml", "submit", "--dry-run", "--env", "../../../etc"], "--env '../../../etc' is not a conf environment"),
        (["azureml", "init", "--env", "../../x"], "--env '../../x' is not a conf environment name"),
        (["azureml", "init", "--env", "{tmp}/abs"], "is not a conf environment name"),
        (["azureml", "runs", "--env", "lcoal"], "no such conf environment in"),
        (["azureml", "submit", "--dry-run", "--env", "prdo"], "did you mean 'prod'?"),
    ],
    ids=["submit-traversal", "init-traversal", "init-absolute", "runs-typo", "submit-typo"],
)
def test_env_must_name_a_conf_environment_and_nothing_is_written_outside(
    project: KedroProject, tmp_path: Path, args: list[str], says: str
) -> None:
    (project.path / "conf" / "prod").mkdir()
    scratch = tmp_path / "tmp"  # the staging folder's parent: where `../../../etc` used to land
    scratch.mkdir()
    before = files_under(tmp_path, project.path)
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in args]  # an absolute path outside the project
    result = project.kedro(*args, env=clean_env(TMPDIR=str(scratch)))
    assert says in one_error_line(result)
    assert files_under(tmp_path, project.path) == before


def test_init_may_create_a_new_environment_inside_conf(project: KedroProject) -> None:
    result = project.kedro("azureml", "init", "--env", "staging")
    assert result.returncode == 0, result.stderr
    assert (project.path / "conf" / "staging" / "azureml.yml").is_file()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["azureml", "ui", "--port", "99999"], "Invalid value for '--port': 99999 is not in the range"),
        (["azureml", "submit", "--params", "x='unbalanced"], "--params \"x='unbalanced\" cannot be read"),
        (["azureml", "submit", "--nodes", "evalute"], "did you mean 'evaluate'?"),
        (["azureml", "submit", "-p", "failing", "--tags", "nope"], "--tags 'nope' is not in pipeline 'failing'"),
        (["azureml", "submit", "--params", "hf_token=abc"], "--params 'hf_token': looks like a secret"),
        (["azureml", "submit", "--dry-run", "--compute", ""], "--compute is empty: give a value"),
        (["azureml", "submit", "--dry-run", "--experiment", " "], "--experiment is empty: give a value"),
        (
            ["azureml", "submit", "--dry-run", "--display-name", "x" * 10_000],
            "--display-name: a display name of 10000 characters; expected at most 250",
        ),
    ],
    ids=[
        "ui-port", "params-quote", "nodes-typo", "tags-unknown", "params-secret",
        "compute-empty", "experiment-empty", "display-name-long",
    ],
)  # fmt: skip
def test_bad_arguments_are_one_line_and_exit_non_zero(project: KedroProject, args: list[str], says: str) -> None:
    assert says in one_error_line(project.kedro(*args))


def test_ui_on_a_busy_port_is_one_line(project: KedroProject) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        line = one_error_line(project.kedro("azureml", "ui", "--port", str(port)))
    assert line.startswith(f"Error: Cannot serve the MLflow UI on 127.0.0.1:{port}: ")


@pytest.mark.parametrize("command", [["run"], ["azureml", "runs"]])
def test_a_top_level_list_in_azureml_yml_is_one_line(project: KedroProject, command: list[str]) -> None:
    config = project.write("conf/base/azureml.yml", "- tracking\n- submit\n")
    line = one_error_line(project.kedro(*command))
    assert line == f"Error: {config}: (top level): expected a mapping of sections (workspace, credentials, " + (
        "tracking, submit, sweep), got list"
    )


@pytest.mark.parametrize(
    ("setting", "says"),
    [
        ("tracking_uri: 'foo://'", "tracking.tracking_uri: unknown scheme 'foo://'"),
        ("tracking_uri: garbage", "tracking.tracking_uri: expected a URI with a scheme"),
        ("tracking_uri: 'azureml://eastus.api.azureml.ms/mlflow/v1.0/oops'", "is not a workspace's tracking URI"),
        ("experiment: team/exp", "tracking.experiment: experiment name with '/'"),
    ],
    ids=["unknown-scheme", "no-scheme", "malformed-azureml", "slash-experiment"],
)
def test_permanent_tracking_errors_stop_the_run_before_the_pipeline(
    project: KedroProject, setting: str, says: str
) -> None:
    project.write("conf/base/azureml.yml", f"tracking:\n  {setting}\n")
    result = project.kedro("run")
    assert says in one_error_line(result)
    assert "Running node" not in result.stdout + result.stderr
    assert not (project.path / ".kedro_azureml_mlflow").exists()  # nothing journaled


def test_a_huge_experiment_name_is_refused_in_one_short_line(project: KedroProject) -> None:
    project.write("conf/base/azureml.yml", "tracking:\n  experiment: " + "x" * (10 * 1024 * 1024) + "\n")
    line = one_error_line(project.kedro("run"))
    assert "tracking.experiment: experiment name of 10485760 characters" in line and len(line) < 500
    assert not (project.path / ".kedro_azureml_mlflow").exists()


def test_a_bad_mlflow_tracking_uri_in_the_environment_is_a_config_error(project: KedroProject) -> None:
    line = one_error_line(project.kedro("run", env=clean_env(MLFLOW_TRACKING_URI="garbage")))
    assert line.startswith("Error: MLFLOW_TRACKING_URI (environment variable): expected a URI with a scheme")
    assert os.listdir(project.path).count(".kedro_azureml_mlflow") == 0


def test_an_azureml_yml_that_is_not_utf8_is_one_line(project: KedroProject) -> None:
    config = project.write("conf/base/azureml.yml", "")
    config.write_bytes("tracking:\n  experiment: café\n".encode("latin-1"))
    line = one_error_line(project.kedro("run"))
    assert line.startswith(f"Error: {config}: ") and "UTF-8" in line


def test_sync_given_a_folder_is_one_line(project: KedroProject) -> None:
    folder = project.path / "conf"
    line = one_error_line(project.kedro("azureml", "sync", str(folder)))
    assert line.startswith(f"Error: {folder}: ") and "a folder" in line
