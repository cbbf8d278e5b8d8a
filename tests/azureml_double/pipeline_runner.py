"""Runs a pipeline job on the emulated compute: its nodes as a DAG of steps, data crossing them through Azurite.

- **Order.** A node starts when every node whose output it binds (``${{parent.jobs.<node>.outputs.<out>}}``)
  has Completed; independent nodes run at the same time, each on its own compute (the node's ``computeId``,
  else ``settings.default_compute``, else the pipeline's ``computeId``).
- **Data.** A step's ``uri_folder`` output is a local folder while it runs (``${{outputs.x}}``) and is uploaded
  when it finalizes to ``workspaceblobstore`` at ``azureml/<step run id>/<output>/`` (or the ``azureml://
  datastores/<ds>/paths/<p>`` given to it or to the pipeline output it is bound to). A consumer downloads it
  before its command starts and sees a local folder. Literal pipeline inputs (``${{parent.inputs.X}}``) are
  substituted; ``$[[ … ]]`` blocks are dropped when an optional input inside is not given.
- **Failure.** A failed step's downstream nodes never start; with ``continue_on_step_failure`` false the
  running steps are cancelled too (absent, the service takes it as true: [P1], [P4] of
  ``tests/azure/test_double_conformance_pipelines.py``). The pipeline then fails with ``PipelineHasStepJobFailed``.
  Cancelling the pipeline cancels its running steps.
- **Reuse.** A node whose component is deterministic, in a pipeline not ``force_rerun``, whose component
  (name, version, command, environment, code content, ports), settings (compute, resources, distribution,
  environment variables) and inputs (literal values; the data an upstream step produced) match an earlier Completed step
  of the workspace (or one still running: then it waits for it, as recorded) is not run: its step ends
  as the original did, with start == end, the original's outputs and the ``azureml.isreused`` /
  ``azureml.reusedrunid`` markers ([P1], [P2]).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from tests.azureml_double._http import HttpError
from tests.azureml_double.components import component_by_id
from tests.azureml_double.job_end import MLFLOW_END, end_parent
from tests.azureml_double.parent_jobs import open_parent_run, update_existing
from tests.azureml_double.pipeline_jobs import PipelineJob, StepJob, setting_on
from tests.azureml_double.routes_datastores import BLOB_STORE, container_of
from tests.azureml_double.routing import utcnow as _now

JOB_OUTPUT = re.compile(r"\$\{\{\s*parent\.jobs\.(\w+)\.outputs\.(\w+)\s*\}\}")
PARENT_INPUT = re.compile(r"\$\{\{\s*parent\.inputs\.(\w+)\s*\}\}")
PARENT_OUTPUT = re.compile(r"\$\{\{\s*parent\.outputs\.(\w+)\s*\}\}")
OPTIONAL_BLOCK = re.compile(r"\$\[\[(.*?)\]\]", re.S)
COMMAND_INPUT = re.compile(r"\$\{\{\s*inputs\.(\w+)\s*\}\}")
DATASTORE_URI = re.compile(r"azureml://datastores/([^/]+)/paths/(.*)")
DISTRIBUTIONS = {"pytorch": "PyTorch", "mpi": "Mpi", "tensorflow": "TensorFlow"}
POLL_SECONDS = 0.05


# ---------------------------------------------------------------------------------------------- reading the body


def upstream_nodes(node: dict[str, Any]) -> set[str]:
    """The nodes whose outputs this node binds."""
    found = set()
    for item in (node.get("inputs") or {}).values():
        match = JOB_OUTPUT.fullmatch(str(item.get("value", "")).strip())
        if match:
            found.add(match.group(1))
    return found


def node_compute(pipeline_props: dict[str, Any], node: dict[str, Any]) -> str | None:
    cid = node.get("computeId") or (pipeline_props.get("settings") or {}).get("default_compute")
    cid = cid or pipeline_props.get("computeId")
    return str(cid).rstrip("/").split("/")[-1] if cid else None


def validate(ws: Any, props: dict[str, Any]) -> None:
    """Refuse, as a 400 at PUT, what the service refuses before running: unknown components, computes or
    nodes, and a cycle."""
    nodes = props.get("jobs") or {}
    if not nodes:
        raise HttpError(400, "UserError", "A pipeline job needs at least one node in 'jobs'.")
    for key, node in nodes.items():
        if node.get("type", "command") != "command":
            raise HttpError(
                400, "UserError", f"azureml double: only command nodes are emulated; {key} is {node['type']}"
            )
        if component_by_id(ws, str(node.get("componentId") or "")) is None:
            raise HttpError(400, "UserError", f"Component {node.get('componentId')!r} of node {key} was not found.")
        compute = node_compute(props, node)
        if not compute or compute.lower() not in ws.computes:
            raise HttpError(
                400, "UserError", f"Compute '{compute}' of node {key} was not found in workspace '{ws.name}'."
            )
        for item in (node.get("inputs") or {}).values():
            bound = JOB_OUTPUT.fullmatch(str(item.get("value", "")).strip())
            upstream = nodes.get(bound.group(1)) if bound else None
            if bound and upstream is None:
                raise HttpError(400, "UserError", f"Node {key} binds an output of unknown node {bound.group(1)}.")
            spec = (component_by_id(ws, str((upstream or {}).get("componentId") or "")) or {}).get("properties", {})
            if bound and bound.group(2) not in (spec.get("componentSpec", {}).get("outputs") or {}):
                raise HttpError(
                    400, "UserError", f"Node {key} binds {bound.group(0)}: {bound.group(1)} has no such output."
                )
    done: set[str] = set()
    while len(done) < len(nodes):
        ready = [k for k, node in nodes.items() if k not in done and upstream_nodes(node) <= done]
        if not ready:
            raise HttpError(400, "UserError", f"The pipeline's nodes form a cycle: {sorted(set(nodes) - done)}.")
        done.update(ready)


def _datastore_location(ws: Any, uri: str) -> tuple[str, str] | None:
    match = DATASTORE_URI.fullmatch(uri.strip())
    if match is None:
        return None
    container = container_of(ws, match.group(1))
    return (container, match.group(2).strip("/")) if container else None


# ---------------------------------------------------------------------------------------------- one step's plan


class StepPlan:
    """What a node will run with: its inputs (values, or data to download first), outputs and reuse key."""

    def __init__(self, pipeline: PipelineJob, node: str, run_id: str) -> None:
        self.pipeline = pipeline
        self.node = node
        self.run_id = run_id
        self.body = pipeline.props["jobs"][node]
        self.component = component_by_id(pipeline.ws, str(self.body["componentId"])) or {}
        self.spec = self.component["properties"]["componentSpec"]
        self.values: dict[str, str | None] = {}
        self.downloads: dict[str, tuple[str, str]] = {}  # input -> (container, prefix)
        self.identities: dict[str, str] = {}
        self.outputs: dict[str, tuple[str, str]] = {}
        self.pipeline_outputs: dict[str, str] = {}  # pipeline output -> node output bound to it
        self._plan_inputs()
        self._plan_outputs()

    def _plan_inputs(self) -> None:
        ws = self.pipeline.ws
        given = self.body.get("inputs") or {}
        for name, port in (self.spec.get("inputs") or {}).items():
            item = given.get(name)
            if item is None:
                default = port.get("default")
                self.values[name] = None if default is None else str(default)
                self.identities[name] = f"default:{default}"
                continue
            raw = str(item.get("value", item.get("uri", "")))
            upstream = JOB_OUTPUT.fullmatch(raw.strip())
            parent = PARENT_INPUT.fullmatch(raw.strip())
            if upstream:
                location = self.pipeline.steps[upstream.group(1)].output_locations[upstream.group(2)]
                self.downloads[name] = location
                self.identities[name] = "data:" + "/".join(location)
                continue
            if parent:
                item = (self.pipeline.props.get("inputs") or {}).get(parent.group(1)) or {}
                raw = str(item.get("value", item.get("uri", "")))
            kind = item.get("jobInputType") or item.get("job_input_type")
            location = _datastore_location(ws, raw) if kind != "literal" else None
            if location is not None:
                self.downloads[name] = location
                self.identities[name] = "data:" + "/".join(location)
            else:
                self.values[name] = raw
                self.identities[name] = "value:" + raw

    def _plan_outputs(self) -> None:
        ws = self.pipeline.ws
        bound = self.body.get("outputs") or {}
        pipeline_outputs = self.pipeline.props.get("outputs") or {}
        for name in self.spec.get("outputs") or {}:
            item = bound.get(name) or {}
            uri = item.get("uri")
            parent = PARENT_OUTPUT.fullmatch(str(item.get("value", "")).strip())
            if parent:
                self.pipeline_outputs[parent.group(1)] = name
                uri = uri or (pipeline_outputs.get(parent.group(1)) or {}).get("uri")
            location = _datastore_location(ws, uri) if uri else None
            default = (container_of(ws, BLOB_STORE) or "", f"azureml/{self.run_id}/{name}")
            self.outputs[name] = location or default

    @property
    def compute(self) -> str | None:
        return node_compute(self.pipeline.props, self.body)

    def settings(self) -> dict[str, Any]:
        spec, body = self.spec, self.body
        return {
            "compute": (self.compute or "").lower(),
            "resources": body.get("resources") or spec.get("resources") or {},
            "distribution": body.get("distribution") or spec.get("distribution"),
            "environment_variables": {
                **(spec.get("environment_variables") or {}),
                **(body.get("environment_variables") or {}),
            },
        }

    def reuse_key(self) -> str:
        ws = self.pipeline.ws
        code = str(self.spec.get("code") or "")
        found = re.search(r"/codes/([^/]+)/versions/([^/]+)$", code)
        asset = ws.codes.get((found.group(1).lower(), found.group(2))) if found else None
        code_hash = ((asset or {}).get("properties") or {}).get("properties", {}).get("hash_sha256") or code
        content = {
            "component": {
                k: self.spec.get(k)
                for k in ("name", "version", "type", "command", "environment", "inputs", "outputs", "is_deterministic")
            },
            "code": code_hash,
            "settings": self.settings(),
            "inputs": self.identities,
            "outputs": {k: (self.body.get("outputs") or {}).get(k, {}).get("uri") for k in self.outputs},
        }
        return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()

    @property
    def deterministic(self) -> bool:
        return str(self.spec.get("is_deterministic", "True")).lower() == "true"

    def command(self, local: dict[str, str]) -> str:
        values = {**self.values, **local}

        def block(match: re.Match[str]) -> str:
            names = COMMAND_INPUT.findall(match.group(1))
            return match.group(1) if all(values.get(n) is not None for n in names) else ""

        return OPTIONAL_BLOCK.sub(block, str(self.spec.get("command") or ""))

    def job_properties(self, local: dict[str, str]) -> dict[str, Any]:
        """The command job the step runs (``compute.Job`` properties)."""
        values = {**self.values, **local}
        settings = self.settings()
        distribution = settings["distribution"] or {}
        kind = DISTRIBUTIONS.get(str(distribution.get("type", distribution.get("distribution_type", ""))).lower())
        return {
            "jobType": "Command",
            "command": self.command(local),
            "codeId": str(self.spec.get("code") or "").removeprefix("azureml:") or None,
            "environmentId": str(self.spec.get("environment") or "").removeprefix("azureml:"),
            "computeId": f"{self.pipeline.ws.arm_id}/computes/{self.compute}",
            "experimentName": self.pipeline.experiment_name,
            "displayName": self.node,
            "inputs": {k: {"jobInputType": "literal", "value": v} for k, v in values.items() if v is not None},
            "environmentVariables": {
                **{str(k): str(v) for k, v in settings["environment_variables"].items()},
                "AZUREML_ROOT_RUN_ID": self.pipeline.name,
            },
            "resources": {"instanceCount": int(settings["resources"].get("instance_count", 1))},
            "distribution": {"distributionType": kind} if kind else None,
            "tags": {},
        }


# ---------------------------------------------------------------------------------------------- running


class PipelineRunner:
    """Runs one pipeline job in its own thread (see the module docstring)."""

    def __init__(self, double: Any, pipeline: PipelineJob) -> None:
        self.double = double
        self.compute = double.compute
        self.pipeline = pipeline
        self.nodes: dict[str, Any] = pipeline.props.get("jobs") or {}
        settings = pipeline.settings
        self.stop_on_failure = not setting_on(settings, "continue_on_step_failure", True)
        self.force_rerun = setting_on(settings, "force_rerun", False)

    def start(self) -> None:
        thread = threading.Thread(target=self.run, name=f"pipeline-{self.pipeline.name}", daemon=True)
        self.compute.threads.append(thread)
        thread.start()

    def run(self) -> None:
        pipeline = self.pipeline
        end_status = "Failed"
        try:
            with pipeline.lock:
                if not pipeline.cancel_requested:
                    pipeline.status = "Running"
                    pipeline.start_time = _now()
            end_status = self._schedule()
        except Exception as e:  # noqa: BLE001 - the pipeline fails, the double survives
            pipeline.error = {"error": {"code": "SystemError", "message": f"azureml double: {e!r}"}}
        finally:
            self._finish(end_status)

    def _schedule(self) -> str:
        pipeline = self.pipeline
        pending = list(self.nodes)
        while True:
            steps = list(pipeline.steps.values())
            for step in steps:
                if step.finished.is_set() and step.status == "Failed" and step.node not in pipeline.failed_nodes:
                    pipeline.failed_nodes.append(step.node)
            stopping = pipeline.cancel_requested or (self.stop_on_failure and pipeline.failed_nodes)
            running = [step for step in steps if not step.finished.is_set()]
            if stopping:
                for step in running:
                    self.compute.cancel(step)
            else:
                for node in list(pending):
                    upstream = upstream_nodes(self.nodes[node])
                    if all(n in pipeline.steps and pipeline.steps[n].status == "Completed" for n in upstream):
                        pending.remove(node)
                        running.append(self._start(node))
            if not running:
                break
            time.sleep(POLL_SECONDS)
        if pipeline.cancel_requested:
            return "Canceled"
        if pipeline.failed_nodes:
            return "Failed"
        if pending or any(step.status != "Completed" for step in pipeline.steps.values()):
            return "Canceled"
        return "Completed"

    def _start(self, node: str) -> StepJob:
        plan = StepPlan(self.pipeline, node, str(uuid.uuid4()))
        key = plan.reuse_key()
        original = None if self.force_rerun or not plan.deterministic else self._reusable(key)
        step = StepJob(self.pipeline, plan.run_id, node, plan.job_properties({}), plan.component, key)
        step.output_locations = dict(original.output_locations) if original else dict(plan.outputs)
        step.reused_from = original
        with self.double.lock:
            self.pipeline.ws.jobs[step.name] = step
            self.pipeline.steps[node] = step
        for name, output in plan.pipeline_outputs.items():
            container, prefix = step.output_locations[output]
            self.pipeline.output_locations[name] = f"{container}/{prefix}"
        if original is not None:
            thread = threading.Thread(target=self._complete_reused, args=(step,), daemon=True)
        else:
            thread = threading.Thread(target=self._run_step, args=(step, plan), daemon=True)
        self.compute.threads.append(thread)
        thread.start()
        return step

    def _reusable(self, key: str) -> StepJob | None:
        """A step that really ran (or runs) with this key, Completed ones first. As recorded, a node reuses
        even a step that is still running: it stays NotStarted until that one ends."""
        with self.double.lock:
            jobs = [j for j in self.pipeline.ws.jobs.values() if isinstance(j, StepJob) and j.reused_from is None]
        candidates = [j for j in jobs if j.reuse_key == key and j.status not in ("Failed", "Canceled")]
        candidates.sort(key=lambda j: (j.status != "Completed", j.created))
        return candidates[0] if candidates else None

    def _complete_reused(self, step: StepJob) -> None:
        """No process runs: once the original ends, an (empty) MLflow child run and the original's status,
        with start == end."""
        original = step.reused_from
        assert original is not None
        while not original.finished.wait(POLL_SECONDS):
            if step.cancel_requested:
                break
        status = original.status if original.finished.is_set() else "Canceled"
        mlflow = self.compute.mlflow
        step.mlflow_experiment_id = mlflow.experiment_id(step.experiment_name)
        step.mlflow_run_id = mlflow.create_run(
            step.mlflow_experiment_id, step.name, step.node, {"mlflow.source.type": "JOB", **step.mlflow_tags}
        )
        mlflow.end_run_if_running(step.mlflow_run_id, MLFLOW_END.get(status, "KILLED"))
        with step.lock:
            step.start_time = step.end_time = _now()
            step.error = original.error
            step.status = status
        step.finished.set()

    def _run_step(self, step: StepJob, plan: StepPlan) -> None:
        """Download the data the step binds, then run it as a command job."""
        try:
            local = {}
            for name, (container, prefix) in plan.downloads.items():
                folder = Path(self.compute.scratch_root) / f"{step.name}-inputs" / name
                folder.mkdir(parents=True, exist_ok=True)
                self.compute.storage.download_prefix(container, prefix, folder)
                files = list(folder.iterdir())
                is_file = (plan.spec.get("inputs") or {}).get(name, {}).get("type") == "uri_file" and len(files) == 1
                local[name] = str(files[0] if is_file else folder)
            step.props = plan.job_properties(local)
        except Exception as e:  # noqa: BLE001 - the step fails as a failed input mount would
            step.error = {"error": {"code": "UserError", "message": f"azureml double: input download failed: {e!r}"}}
            self.compute._finalize(step, "Failed")
            return
        self.compute._run(step, self.double.faults.take_job_failure())  # fail_next_job: steps are jobs too

    def _finish(self, end_status: str) -> None:
        end_parent(self.pipeline, self.compute.mlflow, end_status)


def submit(double: Any, ws: Any, name: str, body: dict[str, Any]) -> tuple[PipelineJob, bool]:
    """Accept a pipeline PUT: a new job answers ``NotStarted`` and starts running; an existing one only takes
    the fields Azure lets change."""
    existing = ws.jobs.get(name)
    props = body.get("properties") or {}
    if existing is not None:
        update_existing(existing, props)
        return existing, False
    validate(ws, props)
    pipeline = PipelineJob(ws, name, copy.deepcopy(body), double.base_url, double.config["log_sig"])
    open_parent_run(double, pipeline, name, props)
    with double.lock:
        ws.jobs[name] = pipeline
    return pipeline, True
