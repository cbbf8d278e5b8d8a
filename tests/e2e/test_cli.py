"""``kedro azureml init | ui | sync`` and the plugin's start-up cost for every ``kedro`` command."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from dulwich.ignore import IgnoreFilter

from kedro_azureml_mlflow.settings.init_config import default_config_text, ignore_local_state
from kedro_azureml_mlflow.tracking.journal.journal import JOURNAL_DIRNAME
from tests.artifact_project import EXPECTED_FILES, use_artifact_pipeline
from tests.kedro_project import KEDRO, KedroProject, clean_env
from tests.ports import free_port
from tests.process_tree import command_line, descendants
from tests.waiting import wait_until

pytestmark = pytest.mark.slow

PROBE = """
import json, sys
from kedro.framework.cli import main
sys.argv = ["kedro", "--help"]
try:
    main()
except SystemExit:
    pass
heavy = sorted({m.split(".")[0] for m in sys.modules if m.split(".")[0] in {"mlflow", "azure", "azureml"}})
plugin = sorted(m for m in sys.modules if m.startswith("kedro_azureml_mlflow"))
print("PROBE" + json.dumps({"heavy": heavy, "plugin": plugin}))
"""


def test_kedro_help_loads_the_plugin_without_importing_mlflow_or_azure(project: KedroProject) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=project.path, env=clean_env(), capture_output=True, text=True, timeout=120
    )
    line = next(line for line in result.stdout.splitlines() if line.startswith("PROBE"))
    loaded = json.loads(line[len("PROBE") :])
    assert "kedro_azureml_mlflow.cli" in loaded["plugin"]  # the plugin really was loaded ...
    assert "azureml" in result.stdout  # ... and its command group is listed
    assert loaded["heavy"] == []  # ... without paying for mlflow or the Azure SDK
    assert "kedro_azureml_mlflow.settings.config" not in loaded["plugin"]  # nor for its own commands (lazy)


def test_every_subcommand_is_listed_and_loads(project: KedroProject) -> None:
    from kedro_azureml_mlflow.cli.group import SUBCOMMANDS

    listed = project.kedro("azureml", "--help")
    assert listed.returncode == 0, listed.stderr
    for name in SUBCOMMANDS:
        assert f"  {name} " in listed.stdout, name


def test_init_writes_the_commented_default_and_refuses_to_overwrite(project: KedroProject) -> None:
    target = project.path / "conf" / "staging" / "azureml.yml"
    first = project.kedro("azureml", "init", "--env", "staging")
    assert first.returncode == 0, first.stderr
    assert target.read_text() == default_config_text()

    target.write_text("tracking:\n  enabled: false\n")
    again = project.kedro("azureml", "init", "--env", "staging")
    assert again.returncode != 0
    assert f"Error: {target} already exists; use --force to overwrite it" in again.stderr
    assert target.read_text() == "tracking:\n  enabled: false\n"

    forced = project.kedro("azureml", "init", "--env", "staging", "--force")
    assert forced.returncode == 0 and target.read_text() == default_config_text()


def test_init_keeps_the_store_and_the_journal_out_of_git(project: KedroProject) -> None:
    gitignore = project.path / ".gitignore"
    before = gitignore.read_text()  # Kedro's own, which ignores mlruns/ but not mlflow.db
    assert not IgnoreFilter(line.encode() for line in before.splitlines()).is_ignored("mlflow.db")

    first = project.kedro("azureml", "init")
    assert "Added mlflow.db, .kedro_azureml_mlflow/ to .gitignore" in first.stdout, first.stdout + first.stderr
    again = project.kedro("azureml", "init", "--force")
    assert again.returncode == 0 and "to .gitignore" not in again.stdout

    after = gitignore.read_text()
    assert after.startswith(before) and after.count("mlflow.db") == 1
    ignored = IgnoreFilter(line.encode() for line in after.splitlines())
    assert ignored.is_ignored("mlflow.db")
    assert ignored.is_ignored(f"{JOURNAL_DIRNAME}/20261128T000000-0a1b2c3d.jsonl")  # where journals are written


def test_a_gitignore_that_already_covers_the_store_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("*.db\n.kedro_azureml_mlflow/**")
    assert ignore_local_state(tmp_path) == []
    assert (tmp_path / ".gitignore").read_text() == "*.db\n.kedro_azureml_mlflow/**"


def test_ui_serves_the_embedded_store(project: KedroProject) -> None:
    project.run()
    port = free_port()
    ui = subprocess.Popen(
        [KEDRO, "azureml", "ui", "--port", str(port)],
        cwd=project.path,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/api/2.0/mlflow/experiments/get-by-name?experiment_name=probe"

    def answer() -> dict[str, Any] | None:
        assert ui.poll() is None, f"kedro azureml ui exited {ui.returncode}:\n{ui.stdout.read() if ui.stdout else ''}"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return dict(json.loads(response.read()))
        except OSError:
            return None

    try:
        body = wait_until(answer, timeout=180, what="the MLflow UI to answer", interval=0.5)
        assert body["experiment"]["name"] == "probe"
        # MLflow's GenAI job runner (launched with the server when job execution is on) is not started.
        server = [command_line(pid) for pid in descendants(ui.pid, at_least=1) or ()]
        assert server and not [line for line in server if "mlflow.server.jobs" in line or "huey" in line], server
    finally:
        import os

        os.killpg(ui.pid, signal.SIGTERM)
        ui.wait(timeout=30)


def processes_serving(port: int) -> dict[int, str]:
    """The live processes started with ``mlflow … --port <port>`` (read from /proc): pid -> command line."""
    found = {}
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue  # gone meanwhile
        line = b" ".join(args).decode(errors="replace")
        if b"--port" in args and str(port).encode() in args and "mlflow" in line:
            found[int(cmdline.parent.name)] = line
    return found


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
@pytest.mark.parametrize("how", ["kill", "Ctrl-C"])
def test_ui_takes_its_server_down_when_stopped(project: KedroProject, how: str) -> None:
    import os

    port = free_port()
    ui = subprocess.Popen(
        [KEDRO, "azureml", "ui", "--port", str(port)],
        cwd=project.path,
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/health"

    def answers() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return True
        except OSError:
            return False

    try:
        wait_until(answers, timeout=180, what="the MLflow UI to answer", interval=0.5)
        if how == "kill":
            os.kill(ui.pid, signal.SIGTERM)  # `kill <pid>` of the command
        else:
            os.killpg(ui.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the foreground group
        ui.wait(timeout=120)
        assert processes_serving(port) == {}  # the server and its workers went with the command
        assert not answers()
    finally:
        if ui.poll() is None:
            ui.kill()
        for pid in processes_serving(port):  # never leave this test's server behind, whatever failed
            os.kill(pid, signal.SIGKILL)


def test_sync_with_nothing_journaled(project: KedroProject) -> None:
    result = project.kedro("azureml", "sync")
    assert result.returncode == 0
    assert "Nothing to send" in result.stdout


def test_runs_shows_the_latest_runs_params_and_metrics(project: KedroProject) -> None:
    project.run()
    shown = project.kedro("azureml", "runs")
    assert shown.returncode == 0, shown.stderr
    [run] = project.runs()
    assert f"run {run.info.run_id}" in shown.stdout
    assert "model.optimizer.lr" in shown.stdout and "model_metrics.accuracy" in shown.stdout and "0.75" in shown.stdout


def test_runs_shows_the_files_and_model_a_run_holds(project: KedroProject) -> None:
    use_artifact_pipeline(project)
    project.run()
    shown = project.kedro("azureml", "runs")
    assert shown.returncode == 0, shown.stderr
    rows = [line for line in shown.stdout.splitlines() if "artifact" in line]
    assert any("model/" in row and "folder" in row for row in rows), shown.stdout
    assert {name for name in EXPECTED_FILES if any(name in row for row in rows)} == EXPECTED_FILES


def test_runs_on_a_project_never_run_is_one_line_and_creates_no_store(project: KedroProject) -> None:
    result = project.kedro("azureml", "runs")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    [error] = [line for line in output.splitlines() if line.startswith("Error: ")]
    assert error.startswith("Error: No runs yet: ") and "kedro run" in error
    assert "alembic" not in output and "tables" not in output  # no MLflow store was created to look
    assert not (project.path / "mlflow.db").exists()


def test_on_error_fail_makes_the_run_fail_when_tracking_could_not_be_sent(project: KedroProject) -> None:
    project.write("conf/base/azureml.yml", "tracking:\n  tracking_uri: http://127.0.0.1:9\n  on_error: fail\n")
    result = project.kedro("run", env=clean_env(MLFLOW_HTTP_REQUEST_MAX_RETRIES="0"))
    assert result.returncode != 0
    errors = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and "tracking.on_error is 'fail'" in errors[0]
    assert "kedro azureml sync" in errors[0]  # and nothing is lost: the journal keeps it
