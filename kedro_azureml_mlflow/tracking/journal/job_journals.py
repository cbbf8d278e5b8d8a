"""Bring the journal an Azure ML job left in its outputs among the project's pending journals.

A job that could not reach its tracking server journals into ``./outputs`` (``journal_directory``),
which Azure ML uploads when the job ends. ``kedro azureml sync --job NAME`` downloads the job's
outputs, and queues each journal once: a ledger in the journal folder remembers which were fetched,
so fetching again after they were delivered never sends anything twice.

A pipeline job (``submit --split-by``) keeps nothing of its own: each step is a job whose journal
names the step's run, so its steps' outputs are fetched instead. A reused step ran nothing (its
outputs are the original step's, whose journal belongs to the original's pipeline job).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from kedro_azureml_mlflow.azure_ml.client import AzureWorkspace
from kedro_azureml_mlflow.core.errors import PluginError, first_line
from kedro_azureml_mlflow.tracking.journal.journal import JOB_JOURNAL_DIRNAME
from kedro_azureml_mlflow.tracking.journal.kept_files import kept_directory

LEDGER = "fetched-from-jobs.txt"
REUSED_FLAG = "azureml.isreused"  # on a step Azure ML reused instead of running it
# Where jobs.download puts a job's default output (run history's folder of the job).
_DOWNLOADED_ARTIFACTS = "artifacts"


def fetch_job_journals(workspace: AzureWorkspace, job: str, journal_dir: Path) -> tuple[list[Path], list[str]]:
    """Queue the journals of ``job``'s outputs (a pipeline job's: its steps'); (newly queued paths, names
    fetched before)."""
    queued: list[Path] = []
    before: list[str] = []
    for source in _jobs_with_outputs(workspace, job):
        new, old = _fetch_from(workspace, source, journal_dir)
        queued += new
        before += old
    return queued, before


def _jobs_with_outputs(workspace: AzureWorkspace, job: str) -> list[str]:
    """``job`` itself, or a pipeline job's steps that ran (not reused)."""
    with workspace.errors(f"listing the steps of job '{job}'"):
        steps = list(workspace.ml_client.jobs.list(parent_job_name=job))
    if not steps:
        return [job]
    return [str(step.name) for step in steps if (step.properties or {}).get(REUSED_FLAG) != "true"]


def _fetch_from(workspace: AzureWorkspace, job: str, journal_dir: Path) -> tuple[list[Path], list[str]]:
    with tempfile.TemporaryDirectory(prefix="kedro-azureml-job-") as tmp:
        _download_outputs(workspace, job, Path(tmp))
        found = sorted((Path(tmp) / _DOWNLOADED_ARTIFACTS / JOB_JOURNAL_DIRNAME).glob("*.jsonl"))
        ledger = journal_dir / LEDGER
        fetched = set(ledger.read_text(encoding="utf-8").splitlines()) if ledger.exists() else set()
        queued: list[Path] = []
        before: list[str] = []
        for path in found:
            target = journal_dir / f"job-{job}-{path.name}"
            if f"{job}/{path.name}" in fetched or target.exists():
                before.append(path.name)
                continue
            journal_dir.mkdir(parents=True, exist_ok=True)
            if kept_directory(path).is_dir():  # the files its artifact records upload travel with it
                shutil.move(kept_directory(path), kept_directory(target))
            shutil.move(path, target)  # queued, then noted: after a crash in between, the queued file says so
            with ledger.open("a", encoding="utf-8") as handle:
                handle.write(f"{job}/{path.name}\n")
            queued.append(target)
    return queued, before


def _download_outputs(workspace: AzureWorkspace, job: str, destination: Path) -> None:
    from azure.ai.ml.exceptions import MlException

    with workspace.errors(f"downloading the outputs of job {job}"):
        try:
            workspace.ml_client.jobs.download(job, download_path=str(destination))
        except MlException as exc:  # e.g. the job has not ended: its outputs are uploaded when it does
            raise PluginError(f"Could not download the outputs of job {job}: {first_line(exc)}") from None
