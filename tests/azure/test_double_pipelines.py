"""Pipeline jobs on the double, driven by the real SDK (``dsl.pipeline`` + ``command`` steps,
``jobs.create_or_update``): steps as child runs on the emulated compute, data crossing them through Azurite,
failure, reuse, force_rerun and cancel. What is observed comes from the double's request log, run history,
Azurite and the real mlflow server, never from the double's own tallies."""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.waiting import wait_until

pytestmark = [pytest.mark.azure, pytest.mark.slow]

TERMINAL = ("Completed", "Failed", "Canceled")
STEP_SCRIPT = """\
import os, pathlib, sys, time
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
print("ids", os.environ["MLFLOW_RUN_ID"], os.environ["AZUREML_RUN_ID"], os.environ["AZUREML_ROOT_RUN_ID"])
if "--fail" in args:
    sys.exit(int(args["--fail"]))
if "--sleep" in args:
    time.sleep(float(args["--sleep"]))
text = args.get("--text", "")
if "--data" in args:
    text = pathlib.Path(args["--data"], "value.txt").read_text() + text
print("value", text)
if "--out" in args:
    pathlib.Path(args["--out"], "value.txt").write_text(text)
"""


def code_folder(tmp_path: Path) -> Path:
    code = tmp_path / f"code-{uuid.uuid4().hex[:6]}"
    code.mkdir()
    # Content of its own: reuse (workspace-wide, by content) must not pick up another test's steps.
    (code / "step.py").write_text(f"# {code.name}\n" + textwrap.dedent(STEP_SCRIPT))
    return code


def step(code: Path, args: str, *, data: bool = False, out: bool = True, compute: str = "cpu-cluster", **kw: Any):
    """A command step running step.py; ``data``: it reads an upstream folder, ``out``: it writes one."""
    from azure.ai.ml import Input, Output, command
    from azure.ai.ml.entities import Environment

    inputs: dict[str, Any] = {"text": Input(type="string")}
    outputs = {"out": Output(type="uri_folder")} if out else {}
    line = f"python step.py {args} --text ${{{{inputs.text}}}}"
    if data:
        inputs["data"] = Input(type="uri_folder")
        line += " --data ${{inputs.data}}"
    if out:
        line += " --out ${{outputs.out}}"
    return command(
        code=str(code),
        command=line,
        environment=Environment(image="i:1"),
        inputs=inputs,
        outputs=outputs,
        compute=compute,
        **kw,
    )


def fan_out(code: Path, *, b_args: str = "", **pipeline_kw: Any):
    """A -> B, A -> C: B (on gpu-cluster) and C read A's uri_folder; B's output is the pipeline's."""
    from azure.ai.ml import dsl

    make_a, make_b = step(code, ""), step(code, b_args, data=True, compute="gpu-cluster")
    make_c = step(code, "", data=True)

    @dsl.pipeline(default_compute="cpu-cluster", **pipeline_kw)
    def fan(word):  # no annotations: the SDK reads them, and this module's are text
        a = make_a(text=word)
        b = make_b(text="-b", data=a.outputs.out)
        c = make_c(text="-c", data=a.outputs.out)  # noqa: F841 - the variable names the node
        return {"result": b.outputs.out}

    return fan(word="hello")


def submit_and_wait(double: Any, job: Any) -> tuple[Any, Any]:
    ml = double.ml_client()
    created = ml.jobs.create_or_update(job, experiment_name="double-pipelines")
    done = wait_until(
        lambda: ml.jobs.get(created.name).status in TERMINAL and ml.jobs.get(created.name), 300, "the pipeline's end"
    )
    return created, done


def steps_by_node(double: Any, pipeline: str) -> dict[str, Any]:
    ml = double.ml_client()
    return {child.display_name: child for child in ml.jobs.list(parent_job_name=pipeline)}


def blob_text(double: Any, container_and_prefix: str, name: str) -> str:
    container, prefix = container_and_prefix.split("/", 1)
    return double.blob_service().get_blob_client(container, f"{prefix}/{name}").download_blob().readall().decode()


def test_fan_out_pipeline_runs_each_step_as_a_child_run_with_data_through_the_datastore(
    azureml_double, tmp_path: Path
) -> None:
    from mlflow.tracking import MlflowClient

    since = azureml_double.last_seq()
    created, done = submit_and_wait(azureml_double, fan_out(code_folder(tmp_path)))

    assert created.status == "NotStarted"
    (put,) = azureml_double.requests(since, path_contains=f"/jobs/{created.name}", method="PUT")
    assert put["status"] == 201
    assert done.status == "Completed"
    steps = steps_by_node(azureml_double, created.name)
    assert sorted(steps) == ["a", "b", "c"]
    listed = {job.name for job in azureml_double.ml_client().jobs.list()}
    assert created.name in listed and listed.isdisjoint(child.name for child in steps.values())  # steps: children only
    infos = {node: azureml_double.job_info(child.name) for node, child in steps.items()}
    assert {node: info["compute"] for node, info in infos.items()} == {
        "a": "cpu-cluster",
        "b": "gpu-cluster",
        "c": "cpu-cluster",
    }
    # the data crossed: B and C read what A wrote, each output is in workspaceblobstore under azureml/<step>/<out>
    for node, expected in (("a", "hello"), ("b", "hello-b"), ("c", "hello-c")):
        location = infos[node]["output_locations"]["out"]
        assert location.endswith(f"/azureml/{steps[node].name}/out")
        assert blob_text(azureml_double, location, "value.txt") == expected
    pipeline_info = azureml_double.job_info(created.name)
    assert pipeline_info["output_locations"] == {"result": infos["b"]["output_locations"]["out"]}
    # B and C started only once A had ended (run history's times)
    runs = {node: azureml_double.ml_client().jobs._runs_operations.get_run(child.name) for node, child in steps.items()}
    assert runs["b"].start_time_utc >= runs["a"].end_time_utc and runs["c"].start_time_utc >= runs["a"].end_time_utc
    # MLflow: each step is a child of the pipeline's run, and runs with its own run id and the pipeline's root id
    client = MlflowClient(azureml_double.mlflow_url)
    assert client.get_run(created.name).info.status == "FINISHED"
    for child in steps.values():
        assert client.get_run(child.name).data.tags["mlflow.parentRunId"] == created.name
        assert f"ids {child.name} {child.name} {created.name}" in azureml_double.job_log(child.name)


def test_getting_a_step_reads_it_from_run_history_and_its_log_is_served(azureml_double, tmp_path: Path) -> None:
    from azure.ai.ml.exceptions import PipelineChildJobError

    created, _ = submit_and_wait(azureml_double, fan_out(code_folder(tmp_path)))
    child = steps_by_node(azureml_double, created.name)["a"]
    ml = azureml_double.ml_client()
    since = azureml_double.last_seq()

    got = ml.jobs.get(child.name)

    assert (got.name, got.status, got.compute, got.display_name) == (child.name, "Completed", "cpu-cluster", "a")
    asked = [r["path"] for r in azureml_double.requests(since, method="GET")]
    mfe, history = (path for path in asked if path.endswith(child.name))  # between them: workspace, discovery
    assert mfe == f"{azureml_double.workspace_scope}/jobs/{child.name}"  # answers without properties, so:
    assert history == f"/history/v1.0{azureml_double.workspace_scope}/runs/{child.name}"
    details = ml.jobs._runs_operations.get_run_details(child.name)
    assert set(details.log_files) == {"user_logs/std_log.txt"}
    assert "value hello" in azureml_double.job_log(child.name)
    with pytest.raises(PipelineChildJobError):  # as on Azure: the SDK does not stream a step
        ml.jobs.stream(child.name)
    ml.jobs.download(child.name, download_path=tmp_path / "download")  # its run's folder in the artifact store
    assert "value hello" in (tmp_path / "download" / "artifacts" / "user_logs" / "std_log.txt").read_text()


def test_a_failed_step_fails_the_pipeline_and_its_downstream_never_starts(azureml_double, tmp_path: Path) -> None:
    from azure.ai.ml.exceptions import JobException

    created, done = submit_and_wait(azureml_double, fan_out(code_folder(tmp_path), b_args="--fail 3"))

    assert done.status == "Failed"
    steps = steps_by_node(azureml_double, created.name)
    assert {node: child.status for node, child in steps.items()} == {"a": "Completed", "b": "Failed", "c": "Completed"}
    details = azureml_double.ml_client().jobs._runs_operations.get_run_details(created.name)
    assert details.error.error.reference_code == "PipelineHasStepJobFailed"
    assert "Failed nodes: /b." in details.error.error.message
    with pytest.raises(JobException, match="Pipeline has failed child jobs"):
        azureml_double.ml_client().jobs.stream(created.name)


def test_a_failed_first_step_leaves_every_other_step_unstarted(azureml_double, tmp_path: Path) -> None:
    from azure.ai.ml import dsl

    code = code_folder(tmp_path)
    make_a, make_b = step(code, "--fail 2"), step(code, "", data=True)

    @dsl.pipeline(default_compute="cpu-cluster")
    def chain():
        a = make_a(text="y")
        b = make_b(text="x", data=a.outputs.out)  # noqa: F841 - the variable names the node

    created, done = submit_and_wait(azureml_double, chain())

    assert done.status == "Failed"
    assert list(steps_by_node(azureml_double, created.name)) == ["a"]


def test_without_continue_on_step_failure_the_running_steps_are_cancelled(azureml_double, tmp_path: Path) -> None:
    from azure.ai.ml import dsl

    code = code_folder(tmp_path)
    make_failing, make_sleeping = step(code, "--fail 1", out=False), step(code, "--sleep 120", out=False)

    @dsl.pipeline(default_compute="cpu-cluster", continue_on_step_failure=False)
    def two():
        sleeping = make_sleeping(text="s")  # noqa: F841 - the variable names the node
        failing = make_failing(text="f")  # noqa: F841

    created, done = submit_and_wait(azureml_double, two())

    assert done.status == "Failed"
    steps = steps_by_node(azureml_double, created.name)
    assert {node: child.status for node, child in steps.items()} == {"sleeping": "Canceled", "failing": "Failed"}
    assert azureml_double.job_info(steps["sleeping"].name)["process_alive"] is False


def test_resubmitting_reuses_unchanged_steps_and_force_rerun_runs_them(azureml_double, tmp_path: Path) -> None:
    code = code_folder(tmp_path)
    first, _ = submit_and_wait(azureml_double, fan_out(code))
    original = steps_by_node(azureml_double, first.name)

    second, done = submit_and_wait(azureml_double, fan_out(code))

    assert done.status == "Completed"
    reused = steps_by_node(azureml_double, second.name)
    for node, child in reused.items():
        assert child.properties["azureml.isreused"] == "true"
        assert child.properties["azureml.reusedrunid"] == original[node].name
        info = azureml_double.job_info(child.name)
        assert info["pid"] is None and info["log_path"] is None  # no process ran
        assert info["output_locations"] == azureml_double.job_info(original[node].name)["output_locations"]
    # its logs are the original's (it shares the original's data container)
    log_url = azureml_double.ml_client().jobs._runs_operations.get_run_details(reused["b"].name).log_files
    assert f"/{original['b'].name}/user_logs/std_log.txt" in log_url["user_logs/std_log.txt"]
    assert "value hello-b" in requests.get(log_url["user_logs/std_log.txt"], timeout=30).text
    assert done.properties["azureml.enforceRerun"] == "False"

    forced, done = submit_and_wait(azureml_double, fan_out(code, force_rerun=True))

    assert done.status == "Completed" and done.properties["azureml.enforceRerun"] == "True"
    for child in steps_by_node(azureml_double, forced.name).values():
        assert "azureml.isreused" not in child.properties
        assert azureml_double.job_info(child.name)["exit_code"] == 0


def test_a_changed_input_or_a_non_deterministic_step_is_not_reused(azureml_double, tmp_path: Path) -> None:
    from azure.ai.ml import dsl

    code = code_folder(tmp_path)
    make_kept, make_volatile = step(code, "", out=False), step(code, "", out=False, is_deterministic=False)

    @dsl.pipeline(default_compute="cpu-cluster")
    def pair(word):
        kept = make_kept(text=word)  # noqa: F841 - the variable names the node
        volatile = make_volatile(text=word)  # noqa: F841

    first, _ = submit_and_wait(azureml_double, pair(word="one"))
    again, _ = submit_and_wait(azureml_double, pair(word="one"))
    changed, _ = submit_and_wait(azureml_double, pair(word="two"))

    reused = {n: c.properties.get("azureml.isreused") for n, c in steps_by_node(azureml_double, again.name).items()}
    assert reused == {"kept": "true", "volatile": None}
    assert all("azureml.isreused" not in c.properties for c in steps_by_node(azureml_double, changed.name).values())
    assert first.name != again.name


def test_cancelling_a_pipeline_cancels_its_running_step_and_an_ended_one_answers_400(
    azureml_double, tmp_path: Path
) -> None:
    from azure.ai.ml import dsl
    from azure.core.exceptions import HttpResponseError

    code = code_folder(tmp_path)
    make_sleeping, make_after = step(code, "--sleep 120"), step(code, "", data=True)

    @dsl.pipeline(default_compute="cpu-cluster")
    def slow():
        sleeping = make_sleeping(text="y")
        after = make_after(text="x", data=sleeping.outputs.out)  # noqa: F841 - the variable names the node

    ml = azureml_double.ml_client()
    created = ml.jobs.create_or_update(slow(), experiment_name="double-pipelines")
    running = wait_until(
        lambda: [c for c in ml.jobs.list(parent_job_name=created.name) if c.status == "Running"], 120, "a running step"
    )

    ml.jobs.begin_cancel(created.name, polling_interval=0.2).result()

    assert ml.jobs.get(created.name).status == "Canceled"
    assert [c.display_name for c in ml.jobs.list(parent_job_name=created.name)] == ["sleeping"]
    assert azureml_double.job_info(running[0].name)["status"] == "Canceled"
    assert azureml_double.job_info(running[0].name)["process_alive"] is False
    with pytest.raises(HttpResponseError) as refused:
        ml.jobs.begin_cancel(created.name)
    assert refused.value.status_code == 400
    assert f"The pipeline run {created.name} is in terminal status, it can't be canceled." in str(refused.value)


def test_a_nodes_own_resources_distribution_and_variables_reach_its_step(azureml_double, tmp_path: Path) -> None:
    from azure.ai.ml import PyTorchDistribution, command, dsl
    from azure.ai.ml.entities import Environment

    trainer = command(
        command=f"echo rank=$RANK of=$WORLD_SIZE greeting=$GREETING {uuid.uuid4().hex}",
        environment=Environment(image="i:1"),
        compute="gpu-cluster",
        instance_count=2,
        distribution=PyTorchDistribution(process_count_per_instance=1),
        environment_variables={"GREETING": "component"},
    )

    @dsl.pipeline(default_compute="cpu-cluster")
    def distributed():
        train = trainer()
        train.environment_variables = {"GREETING": "node"}

    created, done = submit_and_wait(azureml_double, distributed())

    assert done.status == "Completed"
    (child,) = steps_by_node(azureml_double, created.name).values()
    details = azureml_double.ml_client().jobs._runs_operations.get_run_details(child.name)
    assert sorted(details.log_files) == ["user_logs/std_log_process_0.txt", "user_logs/std_log_process_1.txt"]
    assert azureml_double.job_info(child.name)["compute"] == "gpu-cluster"
    scratch = Path(azureml_double.job_info(child.name)["scratch_dir"])
    for rank in (0, 1):
        log = (scratch / "user_logs" / f"std_log_process_{rank}.txt").read_text()
        assert f"rank={rank} of=2 greeting=node" in log


def test_datastore_and_local_inputs_of_the_pipeline_are_downloaded_for_the_step(azureml_double, tmp_path: Path) -> None:
    from azure.ai.ml import Input, command, dsl
    from azure.ai.ml.entities import Environment

    container = azureml_double.ml_client().datastores.get("workspaceblobstore").container_name
    folder = f"inputs/{uuid.uuid4().hex}"
    blobs = azureml_double.blob_service().get_container_client(container)
    blobs.upload_blob(f"{folder}/table/part-0.csv", b"a,b\n1,2\n")
    blobs.upload_blob(f"{folder}/single.txt", b"just one file")
    local = tmp_path / "local-data"
    local.mkdir()
    (local / "notes.txt").write_text("uploaded by the SDK")
    reader = command(
        command="cat ${{inputs.table}}/part-0.csv ${{inputs.single}} ${{inputs.local}}/notes.txt",
        environment=Environment(image="i:1"),
        inputs={"table": Input(type="uri_folder"), "single": Input(type="uri_file"), "local": Input(type="uri_folder")},
    )

    @dsl.pipeline(default_compute="cpu-cluster")
    def read(table, single, local):
        step = reader(table=table, single=single, local=local)  # noqa: F841 - the variable names the node

    datastore = "azureml://datastores/workspaceblobstore/paths"
    job = read(
        table=Input(type="uri_folder", path=f"{datastore}/{folder}/table"),
        single=Input(type="uri_file", path=f"{datastore}/{folder}/single.txt"),
        local=Input(type="uri_folder", path=str(local)),  # the SDK uploads it to the datastore first
    )
    created, done = submit_and_wait(azureml_double, job)

    assert done.status == "Completed"
    (child,) = steps_by_node(azureml_double, created.name).values()
    assert "a,b\n1,2\njust one fileuploaded by the SDK" in azureml_double.job_log(child.name)


def test_fail_next_job_fails_the_next_step_that_runs(azureml_double, tmp_path: Path) -> None:
    from azure.ai.ml import dsl

    code = code_folder(tmp_path)
    make_a, make_b = step(code, ""), step(code, "", data=True)

    @dsl.pipeline(default_compute="cpu-cluster")
    def chain():
        a = make_a(text="y")
        b = make_b(text="x", data=a.outputs.out)  # noqa: F841 - the variable names the node

    azureml_double.fail_next_job(message="injected for the first step")
    created, done = submit_and_wait(azureml_double, chain())

    assert done.status == "Failed"
    (child,) = steps_by_node(azureml_double, created.name).values()
    assert child.status == "Failed" and "injected for the first step" in azureml_double.job_log(child.name)
    assert azureml_double.faults()["fail_next_jobs"] == 0
