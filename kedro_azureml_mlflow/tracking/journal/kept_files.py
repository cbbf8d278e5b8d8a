"""An artifact record's file, kept beside the journal that holds the record, so ``sync`` can send it later."""

from __future__ import annotations

import contextlib
import logging
import shutil
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from kedro_azureml_mlflow.core.errors import first_line
from kedro_azureml_mlflow.tracking.wire.records import ArtifactRecord, ArtifactUpload, Record, StepRecord

if TYPE_CHECKING:
    from kedro_azureml_mlflow.tracking.journal.journal import Journal

logger = logging.getLogger(__name__)

KEPT_SUFFIX = ".files"


def kept_directory(journal_path: Path) -> Path:
    """The folder beside a journal file that holds copies of the files its records upload.

    ``<journal>.files/<record number>/<name>``; a file is deleted once sent, the folders once empty.
    """
    return journal_path.with_suffix(KEPT_SUFFIX)


def keep_for_journal(record: ArtifactRecord, journal: Journal) -> ArtifactRecord:
    """The record pointing at a copy under the journal folder, so ``sync`` can send it later.

    The plugin's own files are moved; the user's are copied (not hard-linked: the next run may
    rewrite the same file in place, and the journal must keep what this run produced).
    """
    source = Path(record.local_path)
    kept = Path(f"{journal.records:05d}") / source.name
    target = kept_directory(journal.path) / kept
    target.parent.mkdir(parents=True, exist_ok=True)
    if record.owned:
        shutil.move(source, target)
        with contextlib.suppress(OSError):
            source.parent.rmdir()  # its staging slot, once empty
    elif source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copy2(source, target)
    return replace(record, local_path=kept.as_posix(), owned=True)


def kept_in_journal(record: ArtifactUpload, journal: Journal) -> ArtifactUpload | None:
    """An artifact record as its journal keeps it: pointing at its own copy of the file.

    Whoever journals it (the writer, the agent, the pipeline when the agent is gone) goes through
    ``Journal.write``, which calls this; a record already kept (a relative path) is left as it is.
    ``None`` for a plugin's own file that is gone: only an upload (which deletes it) or another journal
    (which moved it) takes one, so the record is dealt with. This happens when the agent and the
    pipeline both journal near the end of ``max_wait``; journaled twice, it would dangle and be set aside.
    """
    artifact = record.artifact
    if not Path(artifact.local_path).is_absolute():
        return record
    if artifact.owned and not Path(artifact.local_path).exists():
        logger.debug("%s was sent or journaled already; not journaled again", artifact.local_path)
        return None
    try:
        return ArtifactUpload(keep_for_journal(artifact, journal))
    except OSError as exc:  # journaled all the same: sync will say the file is missing
        logger.warning("Could not keep a copy of %s for the journal (%s)", artifact.local_path, first_line(exc))
        return record


def with_kept_file(record: Record, journal_path: Path) -> Record:
    """A journal's record, its kept file's path made whole.

    Journals name kept files relative to their kept folder, so a journal can move with it (a
    job's journal is fetched from its outputs under another name).
    """
    if isinstance(record, StepRecord):
        return StepRecord(record.step, with_kept_file(record.record, journal_path))  # type: ignore[arg-type]  # not a step
    if not isinstance(record, ArtifactUpload) or Path(record.artifact.local_path).is_absolute():
        return record
    whole = kept_directory(journal_path) / record.artifact.local_path
    return ArtifactUpload(replace(record.artifact, local_path=str(whole)))
