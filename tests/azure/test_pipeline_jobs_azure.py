"""``submit --split-by`` end to end against the Azure ML double with the real SDK: the spaceflights-like
project as a pipeline job of two steps, data crossing them through the double's datastore."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient

from tests.azure.test_submit_azure import job_name_from
from tests.azureml_double import AzureMLDouble
from tests.kedro_project import KedroProject, run_kedro
from tests.pipeline_project import assert_same_model_outputs
from tests.waiting import wait_until

pytestmark = [pytest.mark.azure, pytest.mark.slow]

CREATING = ("startPendingUpload", "/codes/", "/components/", "/jobs/", "/environments/")
# The spaceflights parameters, flattened, as MLflow params (lists as JSON text).
PARENT_PARAMS = {
    "model_options.test_size": "0.25",
    "model_options.random_state": "3",
    "model_options.features": '["engines", "passenger_capacity", "company_rating"]',
}


def submit(project: KedroProject, double: AzureMLDouble, *args: str, check: bool = True) -> str:
    result = run_kedro(
        ["azureml", "submit", *args], project.path, extra_env=double.client_env(), check=check, timeout=600
    )
    return result.stdout + result.stderr + f"\n[exit {result.returncode}]"


def creating_requests(double: AzureMLDouble, since: int) -> list[str]:
    return [
        f"{r['method']} {r['path']}"
        for r in double.requests(since)
        if r["method"] in {"PUT", "POST", "PATCH", "DELETE"} and any(part in r["path"] for part in CREATING)
    ]


def step_logs(double: AzureMLDouble) -> str:
    """Every job's log tail, to read when a step fails."""
    return "\n".join(f"--- {job.get('name')}: {double.job_log(job['name'])[-3000:]}" for job in double.jobs())


def test_split_by_namespace_completes_and_outputs_equal_a_local_run(
    spaceflights: KedroProject, azureml_double: AzureMLDouble, tmp_path: Path
) -> None:
    reference = KedroProject(Path(shutil.copytree(spaceflights.path, tmp_path / "reference")))
    reference.run()

    output = submit(
        spaceflights,
        azureml_double,
        "--split-by",
        "namespace",
        "--compute",
        "cpu-cluster",
        "--include-data",
        "--wait",
        check=False,
    )
    assert "[exit 0]" in output, output + step_logs(azureml_double)
    name = job_name_from(output)
    info = azureml_double.job_info(name)
    assert info["status"] == "Completed", output
    ml_client = azureml_double.ml_client()
    children = {child.display_name: child for child in ml_client.jobs.list(parent_job_name=name)}
    assert set(children) == {"data_processing", "data_science"}
    assert {child.status for child in children.values()} == {"Completed"}
    downloaded = tmp_path / "downloaded"
    ml_client.jobs.download(children["data_processing"].name, download_path=downloaded, output_name="data")
    produced = downloaded / "named-outputs/data"
    # A parquet file, a CSV (a dataset factory's) and a MemoryDataset crossed to data_science in their own formats.
    pd.read_parquet(produced / "data/02_intermediate/preprocessed_companies.parquet")
    pd.read_csv(produced / "data/03_primary/model_input_table.csv")
    assert (produced / "memory/preprocessed_shuttles.pickle").is_file()
    assert (produced / ".kedro_azureml/lineage.json").is_file()  # which runs made it (reused steps' roll-up)
    # `kedro azureml download` puts the kept data where a local run writes it: equal to the local run's.
    pulled = run_kedro(["azureml", "download", name], spaceflights.path, extra_env=azureml_double.client_env())
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    assert not (spaceflights.path / "memory").exists()  # pickled MemoryDatasets are not project files
    assert not (spaceflights.path / ".kedro_azureml").exists()  # nor is which runs made the data
    table = "data/03_primary/model_input_table.csv"
    assert (spaceflights.path / table).read_text() == (reference.path / table).read_text()
    assert_same_model_outputs(spaceflights.path, reference.path)
    pd.testing.assert_frame_equal(
        pd.read_parquet(spaceflights.path / "data/02_intermediate/preprocessed_companies.parquet"),
        pd.read_parquet(reference.path / "data/02_intermediate/preprocessed_companies.parquet"),
    )

    client = MlflowClient(azureml_double.mlflow_url)
    parent = client.get_run(name)
    # The submitter logged the flattened parameters and Kedro's run tags to the pipeline's run.
    assert parent.data.params == PARENT_PARAMS
    assert parent.data.tags["kedro.pipeline"] == "__default__"
    assert parent.data.tags["kedro.command"].startswith("kedro azureml submit --split-by namespace")
    step_runs = client.search_runs([parent.info.experiment_id], f"tags.mlflow.parentRunId = '{name}'")
    assert sorted(run.info.run_id for run in step_runs) == sorted(child.name for child in children.values())
    assert {run.info.status for run in step_runs} == {"FINISHED"}
    assert {run.data.tags["mlflow.runName"] for run in step_runs} == {"data_processing", "data_science"}
    by_step = {run.data.tags["kedro.step"]: run for run in step_runs}
    assert by_step["data_science"].data.tags["kedro.nodes"] == (
        "data_science.split_data,data_science.train_model,data_science.evaluate_model"
    )
    # The step's metrics (the `metrics` dataset: metrics.mae, metrics.rows) are in its own run and rolled up.
    reported = json.loads((reference.path / "data/08_reporting/metrics.json").read_text())
    expected = {f"metrics.{key}": value for key, value in reported.items()}
    assert by_step["data_science"].data.metrics == pytest.approx(expected)
    assert client.get_run(name).data.metrics == pytest.approx(expected)


def test_a_dry_run_prints_the_step_graph_writes_the_yaml_and_sends_nothing(
    spaceflights: KedroProject, azureml_double: AzureMLDouble, tmp_path: Path
) -> None:
    since = azureml_double.last_seq()
    target = tmp_path / "review" / "job.yaml"
    target.parent.mkdir()
    output = submit(
        spaceflights,
        azureml_double,
        "--split-by",
        "namespace",
        "--compute",
        "cpu-cluster",
        "--dry-run",
        "--include-data",
        "--output",
        str(target),
    )
    assert "Pipeline job: 2 steps (split by namespace)" in output
    assert "step data_science: compute cpu-cluster (default); reuse off" in output
    assert "reads `preprocessed_shuttles` from data_processing: pickled (cloudpickle)" in output
    assert (
        "reads `model_input_table` from data_processing: re-rooted file data/03_primary/model_input_table.csv" in output
    )
    assert "params: p_model_options = model_options (json)" in output
    job = yaml.safe_load(target.read_text())
    assert set(job["jobs"]) == {"data_processing", "data_science"}
    code = Path(job["jobs"]["data_science"]["component"]["code"])
    assert code.is_relative_to(tmp_path / "review" / "job.yaml.snapshot")
    assert (code / "src/probe/pipeline_registry.py").is_file()
    assert azureml_double.requests(since) == []


def test_a_cyclic_grouping_is_one_error_line_and_sends_nothing(
    spaceflights: KedroProject, azureml_double: AzureMLDouble
) -> None:
    since = azureml_double.last_seq()
    output = submit(
        spaceflights,
        azureml_double,
        "--split-by",
        "tag",
        "--pipeline",
        "cyclic",
        "--compute",
        "cpu-cluster",
        check=False,
    )
    errors = [line for line in output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, output
    assert "makes a cycle between steps" in errors[0] and "`a`" in errors[0] and "`b`" in errors[0]
    assert "dataset `preprocessed_companies`" in errors[0] or "dataset `model_input_table`" in errors[0]
    assert "[exit 1]" in output
    assert creating_requests(azureml_double, since) == []


def test_a_failing_node_fails_its_step_and_the_steps_after_it_never_start(
    spaceflights: KedroProject, azureml_double: AzureMLDouble
) -> None:
    output = submit(
        spaceflights,
        azureml_double,
        "--split-by",
        "node",
        "--compute",
        "cpu-cluster",
        "--include-data",
        "--wait",
        "--params",
        "model_options.features=[no_such_column]",
        check=False,
    )
    assert "[exit 1]" in output
    assert "Failed nodes: /data_science_split_data" in output, output
    # --wait said how each step went, and showed the failed step's log tail.
    assert "step data_processing_create_model_input_table: Completed" in output, output
    assert "step data_science_split_data: Failed" in output, output
    _, tail_header, tail = output.partition("── last 30 lines of step data_science_split_data's user_logs/std_log.txt")
    assert tail_header and "no_such_column" in tail, output
    assert "step data_science_train_model:" not in output  # never started
    name = job_name_from(output)
    # Keyed by the steps' Azure ML names: the double lists a child under its node name (not its display name).
    children = {c.display_name: c for c in azureml_double.ml_client().jobs.list(parent_job_name=name)}
    assert children["data_science_split_data"].status == "Failed"
    assert children["data_processing_create_model_input_table"].status == "Completed"
    for later in ("data_science_train_model", "data_science_evaluate_model"):
        assert later not in children or children[later].status in {"NotStarted", "Canceled"}, children[later].status
    log = azureml_double.job_log(children["data_science_split_data"].name)
    assert "no_such_column" in log

    env = azureml_double.client_env()
    status = run_kedro(["azureml", "status", name], spaceflights.path, extra_env=env)
    rows = [line.split() for line in status.stdout.splitlines() if line.startswith("  ") and line.strip()]
    assert ["data_science_split_data", "Failed", children["data_science_split_data"].name] in rows, status.stdout
    assert not any(row[0] == "data_science_train_model" for row in rows)
    step_log = run_kedro(
        ["azureml", "logs", name, "--step", "data_science_split_data"], spaceflights.path, extra_env=env
    )
    assert "no_such_column" in step_log.stdout + step_log.stderr


def test_only_the_opted_in_step_is_reused_force_rerun_runs_it_and_a_tagged_step_runs_on_its_compute(
    spaceflights: KedroProject, azureml_double: AzureMLDouble
) -> None:
    spaceflights.write(
        "conf/base/azureml.yml",
        """
        submit:
          reuse_tags: [preprocessing]
          compute_by_tag:
            training: gpu-cluster
        """,
    )
    args = ("--split-by", "namespace", "--compute", "cpu-cluster", "--include-data", "--wait")
    jobs = [job_name_from(submit(spaceflights, azureml_double, *args)) for _ in range(2)]
    jobs.append(job_name_from(submit(spaceflights, azureml_double, *args, "--force-rerun")))
    ml_client = azureml_double.ml_client()
    first, second, forced = (
        {child.display_name: child for child in ml_client.jobs.list(parent_job_name=job)} for job in jobs
    )
    assert first["data_processing"].properties["_azureml.ClusterName"] == "cpu-cluster"
    assert first["data_science"].properties["_azureml.ClusterName"] == "gpu-cluster"
    reused = second["data_processing"]
    assert reused.properties.get("azureml.isreused") == "true"
    assert reused.properties["azureml.reusedrunid"] == first["data_processing"].name
    assert "azureml.isreused" not in second["data_science"].properties  # not opted in: it ran again
    assert not any("azureml.isreused" in child.properties for child in forced.values())
    # No process ran for the reused step: nothing tagged its run with the Kedro step, as a step's end does.
    client = MlflowClient(azureml_double.mlflow_url)
    assert "kedro.step" not in step_run_tags(client, reused.name)
    assert step_run_tags(client, second["data_science"].name)["kedro.step"] == "data_science"
    assert step_run_tags(client, forced["data_processing"].name)["kedro.step"] == "data_processing"


def step_run_tags(client: MlflowClient, run_id: str) -> dict[str, str]:
    """A step run's tags; a step whose run was never created has none."""
    from mlflow.exceptions import MlflowException

    try:
        return dict(client.get_run(run_id).data.tags)
    except MlflowException:
        return {}


def test_cancel_ends_the_pipeline_and_its_running_step_killed_and_starts_no_more(
    spaceflights: KedroProject, azureml_double: AzureMLDouble
) -> None:
    args = ("--split-by", "namespace", "--pipeline", "holding", "--compute", "cpu-cluster", "--include-data")
    name = job_name_from(submit(spaceflights, azureml_double, *args))
    ml_client = azureml_double.ml_client()
    client = MlflowClient(azureml_double.mlflow_url)

    def holding_step() -> Any:
        steps = {child.display_name: child for child in ml_client.jobs.list(parent_job_name=name)}
        held = steps.get("hold")
        return held if held is not None and "holding until cancelled" in azureml_double.job_log(held.name) else None

    held = wait_until(holding_step, 300, "the hold step's node to run")
    assert client.get_run(held.name).info.status == "RUNNING"

    cancelled = run_kedro(["azureml", "cancel", name], spaceflights.path, extra_env=azureml_double.client_env())
    output = cancelled.stdout + cancelled.stderr
    assert cancelled.returncode == 0, output
    assert f"{name}: Canceled" in output
    assert f"MLflow run {name}: KILLED" in output
    rows = [line.split() for line in cancelled.stdout.splitlines() if line.startswith("  ") and line.strip()]
    assert ["hold", "Canceled", held.name, "KILLED"] in rows, output

    assert azureml_double.job_info(held.name)["process_alive"] is False
    assert client.get_run(name).info.status == "KILLED"
    assert client.get_run(held.name).info.status == "KILLED"
    steps = {child.display_name for child in ml_client.jobs.list(parent_job_name=name)}
    assert steps == {"hold"}  # the step after it never started


JOB_JOURNAL = "outputs/kedro_azureml_mlflow/journal"


def test_an_mlflow_outage_in_the_steps_is_replayed_by_sync_job_into_each_steps_run_once(
    spaceflights: KedroProject, azureml_double: AzureMLDouble, tmp_path: Path
) -> None:
    spaceflights.write(
        "conf/base/azureml.yml",
        """
        submit:
          environment_variables: {MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0"}
        """,
    )
    # The tracking server refuses every batch of values while the steps run (what their Kedro sessions send).
    azureml_double.inject_http_fault(r"/runs/log-batch$", status=503, count=10_000, retry_after=None)
    args = ("--split-by", "namespace", "--compute", "cpu-cluster", "--include-data", "--wait")
    output = submit(spaceflights, azureml_double, *args, check=False)
    assert "[exit 0]" in output, output + step_logs(azureml_double)
    name = job_name_from(output)
    steps = {child.display_name: child.name for child in azureml_double.ml_client().jobs.list(parent_job_name=name)}
    science = steps["data_science"]
    client = MlflowClient(azureml_double.mlflow_url)
    assert client.get_run(science).data.metrics == {}  # nothing reached the step's run
    kept = azureml_double.blob_service().get_container_client("azureml")
    journaled = {
        step: [b.name for b in kept.list_blobs(name_starts_with=f"ExperimentRun/dcid.{run}/{JOB_JOURNAL}/")]
        for step, run in steps.items()
    }
    assert any(blob.endswith(".jsonl") for blob in journaled["data_science"]), journaled

    azureml_double.clear_faults()
    synced = run_kedro(["azureml", "sync", "--job", name], spaceflights.path, extra_env=azureml_double.client_env())
    assert synced.returncode == 0, synced.stdout + synced.stderr
    for step, blobs in journaled.items():
        if any(blob.endswith(".jsonl") for blob in blobs):
            assert f"to run {steps[step]}" in synced.stdout, (step, synced.stdout + synced.stderr)

    reference = KedroProject(Path(shutil.copytree(spaceflights.path, tmp_path / "reference")))
    reference.run()
    reported = json.loads((reference.path / "data/08_reporting/metrics.json").read_text())
    run = client.get_run(science)
    assert run.data.metrics == pytest.approx({f"metrics.{key}": value for key, value in reported.items()})
    for key in run.data.metrics:  # each value sent once
        assert len(client.get_metric_history(science, key)) == 1, key
    assert client.get_run(name).data.metrics == {}  # into the step's run, not the pipeline's

    before = azureml_double.last_seq()
    again = run_kedro(["azureml", "sync", "--job", name], spaceflights.path, extra_env=azureml_double.client_env())
    assert again.returncode == 0, again.stdout + again.stderr
    assert "not sent again" in again.stdout, again.stdout
    assert azureml_double.mlflow_requests(before) == []  # fetched again, sent nothing again


def test_the_submitters_params_and_tags_are_journaled_when_mlflow_is_out_and_sync_sends_them_once(
    spaceflights: KedroProject, azureml_double: AzureMLDouble
) -> None:
    azureml_double.inject_http_fault(r"/runs/log-batch$", status=503, count=10_000, retry_after=None)
    args = ("--split-by", "namespace", "--compute", "cpu-cluster", "--include-data")
    output = submit(spaceflights, azureml_double, *args)
    azureml_double.clear_faults()
    name = job_name_from(output)
    assert f"MLflow: could not log the parameters and tags to pipeline job {name}'s run" in output, output
    journals = list((spaceflights.path / ".kedro_azureml_mlflow/journal").glob("*.jsonl"))
    assert len(journals) == 1, journals
    client = MlflowClient(azureml_double.mlflow_url)
    assert client.get_run(name).data.params == {}

    synced = run_kedro(["azureml", "sync"], spaceflights.path, extra_env=azureml_double.client_env())
    assert synced.returncode == 0 and f"to run {name}" in synced.stdout, synced.stdout + synced.stderr
    parent = client.get_run(name)
    assert parent.data.params == PARENT_PARAMS
    assert parent.data.tags["kedro.pipeline"] == "__default__"

    # The job's steps call MLflow too: ended first, so that what is counted below is the second sync alone.
    azureml_double.wait_for_job(name, timeout=600)
    before = azureml_double.last_seq()
    again = run_kedro(["azureml", "sync"], spaceflights.path, extra_env=azureml_double.client_env())
    assert "Nothing to send" in again.stdout, again.stdout + again.stderr
    assert azureml_double.mlflow_requests(before) == []


def test_a_reused_steps_metrics_are_rolled_up_to_the_new_pipelines_run_once(
    spaceflights: KedroProject, azureml_double: AzureMLDouble
) -> None:
    spaceflights.write("conf/base/azureml.yml", "submit:\n  reuse_tags: [preprocessing]\n")
    args = ("--split-by", "namespace", "--pipeline", "reusing", "--compute", "cpu-cluster", "--include-data", "--wait")
    first, second = (job_name_from(submit(spaceflights, azureml_double, *args)) for _ in range(2))
    ml_client = azureml_double.ml_client()
    steps = {child.display_name: child for child in ml_client.jobs.list(parent_job_name=second)}
    original = steps["prep"].properties.get("azureml.reusedrunid")
    assert original is not None, steps["prep"].properties  # prep was reused: no process ran for it
    assert original == {c.display_name: c.name for c in ml_client.jobs.list(parent_job_name=first)}["prep"]

    client = MlflowClient(azureml_double.mlflow_url)
    assert client.get_run(steps["prep"].name).data.metrics == {}  # the reused step's own run is empty
    assert client.get_run(first).data.metrics == {"prep_metrics.companies": 20.0}
    parent = client.get_run(second)
    assert parent.data.metrics == {"prep_metrics.companies": 20.0}  # rolled up from the original's run
    assert parent.data.tags["kedro.rollup.reused.prep"] == original
    assert len(client.get_metric_history(second, "prep_metrics.companies")) == 1
