"""Distributed jobs: every node runs ``kedro run``; only rank 0 tracks the job's one run."""

from __future__ import annotations

import json

import pytest

from kedro_azureml_mlflow.tracking.plan.ranks import process_rank, tracks_this_process


@pytest.mark.parametrize(
    ("environ", "rank"),
    [
        ({}, None),
        ({"RANK": "1", "WORLD_SIZE": "2"}, 1),
        ({"OMPI_COMM_WORLD_RANK": "0"}, 0),
        ({"PMI_RANK": "3"}, 3),
        ({"TF_CONFIG": json.dumps({"task": {"type": "worker", "index": 2}})}, 2),
        ({"TF_CONFIG": "not json"}, None),
    ],
)
def test_rank_of_each_distribution(environ: dict[str, str], rank: int | None) -> None:
    assert process_rank(environ) == rank
    assert tracks_this_process(environ) == (rank in (None, 0))
