"""Which process of a distributed Azure ML job tracks the run: rank 0 only.

With ``instance_count`` > 1 and a distribution, Azure ML runs the job's command on every node, so every
node runs ``kedro run`` and would resume the same MLflow run (``MLFLOW_RUN_ID``). Rank 0 logs the params,
the plugin's metrics and tags and ends the run; every other rank tracks nothing, so nothing is logged twice.
The rank comes from what Azure ML sets for the distribution: ``RANK`` (PyTorch), ``OMPI_COMM_WORLD_RANK``
(MPI), ``PMI_RANK`` (Intel MPI) or ``TF_CONFIG``'s task index (TensorFlow); none of them: one process.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping

logger = logging.getLogger(__name__)

RANK_VARIABLES = ("RANK", "OMPI_COMM_WORLD_RANK", "PMI_RANK")


def process_rank(environ: Mapping[str, str] = os.environ) -> int | None:
    """This process's rank in a distributed job, None outside one."""
    for name in RANK_VARIABLES:
        if environ.get(name, "").strip().isdigit():
            return int(environ[name])
    try:
        task = json.loads(environ.get("TF_CONFIG", "") or "{}").get("task") or {}
    except ValueError:
        return None
    index = task.get("index")
    return int(index) if isinstance(index, int) else None


def tracks_this_process(environ: Mapping[str, str] = os.environ) -> bool:
    """False on every rank but 0 (which tracks the job's one run)."""
    rank = process_rank(environ)
    if rank:
        logger.info("Not tracking: rank %d of a distributed job (rank 0 tracks the job's run)", rank)
    return not rank
