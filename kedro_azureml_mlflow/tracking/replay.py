"""Send a journal's records to the server, exactly once, removing each as soon as it is taken."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from kedro_azureml_mlflow.tracking import client_ops
from kedro_azureml_mlflow.tracking.batching import Batch
from kedro_azureml_mlflow.tracking.journal import read_journal, rewrite_journal


def replay_journal(path: Path, connect: Callable[[str], Any]) -> tuple[str, int]:
    """Replay ``path``; returns (run id, records sent). Raises on the first failed request,
    leaving what is still unsent in the file for the next try."""
    header, records = read_journal(path)
    client = connect(header.tracking_uri)
    run_id = header.run_id
    if run_id is None:
        run_id = client_ops.create_run(client, header)
        header = replace(header, run_id=run_id)
        rewrite_journal(path, header, records)
    sent = 0
    while records:
        record = records[0]
        if "end" in record:
            client_ops.end_run(client, run_id, record["end"], record["end_time_ms"])
        else:
            client_ops.log_request(client, run_id, Batch.from_json(record))
        records.pop(0)
        rewrite_journal(path, header, records)
        sent += 1
    path.unlink(missing_ok=True)
    return run_id, sent
