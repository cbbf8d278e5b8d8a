"""Send a journal's records to the server, exactly once, removing each as soon as it is taken."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from kedro_azureml_mlflow.tracking import client_ops
from kedro_azureml_mlflow.tracking.journal import read_journal, rewrite_journal


def replay_journal(path: Path, connect: Callable[[str], Any]) -> tuple[str, int]:
    """Replay ``path``; returns (run id, records sent). Raises on the first failed request,
    leaving what is still unsent in the file for the next try."""
    header, records = read_journal(path)
    client = connect(header.tracking_uri)
    if header.run_id is None:
        header = replace(header, run_id=client_ops.create_run(client, header))
        rewrite_journal(path, header, records)
    sent = 0
    while records:
        record = records[0]
        client_ops.send_record(client, str(header.run_id), record)
        records.pop(0)
        rewrite_journal(path, header, records)
        sent += 1
    path.unlink(missing_ok=True)
    return str(header.run_id), sent
