"""Bring the journal an Azure ML job left in its outputs among the project's pending journals.

A job that could not reach its tracking server journals into ``./outputs`` (``journal_directory``),
which Azure ML uploads when the job ends. ``kedro azureml sync --job NAME`` downloads the job's
outputs, and queues each journal once: a ledger in the journal folder remembers which were fetched,
so fetching again after they were delivered never sends anything twice.

A pipeline job (``submit --split-by``) or a sweep job keeps nothing of its own: each of its child
jobs (a step, a trial) journals into its own outputs under its own run, so the children's outputs
are fetched instead. A reused step ran nothing (its outputs are the original step's, whose journal
belongs to the original's pipeline job).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from kedro_azureml_mlflow.azure_ml.client import AzureWorkspace
from kedro_azureml_mlflow.core.errors import PluginError, first_line
from kedro_azureml_mlflow.tracking.journal.journal import JOB_JOURNAL_DIRNAME
from kedro_azureml_mlflow.tracking.journal.kept_files import kept_directory

LEDGER = "fetched-from-jobs.txt"
REUSED_FLAG = "azureml.isreused"  # on a step Azure ML reused instead of running it
# Where jobs.download puts a job's default output (run history's folder of the job).
_DOWNLOADED_ARTIFACTS = "artifacts"
_CHILDREN = {"pipeline": "steps", "sweep": "trials"}  # what a job type calls its child jobs


@dataclass(frozen=True)
class JobSources:
    """The jobs whose outputs hold ``job``'s journals: ``job`` itself, or its child jobs that ran."""

    job: str
    kind: str  # "job", or the parent's type ("pipeline", "sweep")
    jobs: list[str]

    def nothing_left(self) -> str:
        """The one line saying no journal was found, naming what was searched."""
        if self.kind == "job":
            return f"Job {self.job} left no journal in its outputs: it sent everything it tracked."
        children = _CHILDREN.get(self.kind, "child jobs")
        return (
            f"{self.kind.capitalize()} job {self.job}: none of its {len(self.jobs)} {children} that ran left a "
            "journal in its outputs: they sent everything they tracked."
        )


def fetch_job_journals(
    workspace: AzureWorkspace, job: str, journal_dir: Path
) -> tuple[list[Path], list[str], JobSources]:
    """Queue the journals of ``job``'s outputs (a pipeline or sweep job's: its child jobs'); (newly queued paths,
    names fetched before, where they were looked for)."""
    queued: list[Path] = []
    before: list[str] = []
    sources = job_sources(workspace, job)
    for source in sources.jobs:
        new, old = _fetch_from(workspace, source, journal_dir)
        queued += new
        before += old
    return queued, before, sources


def job_sources(workspace: AzureWorkspace, job: str) -> JobSources:
    """``job`` itself, or its child jobs that ran (a pipeline's steps not reused; a sweep's trials)."""
    with workspace.errors(f"listing the child jobs of job '{job}'"):
        children = list(workspace.ml_client.jobs.list(parent_job_name=job))
    if not children:
        return JobSources(job, "job", [job])
    with workspace.errors(f"getting job '{job}'"):
        kind = str(workspace.ml_client.jobs.get(job).type)
    ran = [str(child.name) for child in children if (child.properties or {}).get(REUSED_FLAG) != "true"]
    return JobSources(job, kind, ran)


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
