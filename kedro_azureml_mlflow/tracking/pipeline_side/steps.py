"""Which step's child run the node running in this thread is in (``tracking.child_runs: namespace``).

Set by the hooks when a node starts, so that everything the node makes (its metrics, the files its
outputs save after ``after_node_run``, a model saved in the background, node code's own MLflow calls)
goes to its step's child run. A context variable: each thread has its own (ThreadRunner), and a
background preparation started from the node carries the node's (``contextvars.copy_context``).
"""

from __future__ import annotations

from contextvars import ContextVar

from kedro_azureml_mlflow.tracking.wire.records import Record, for_step

_current: ContextVar[str | None] = ContextVar("kedro_azureml_mlflow_step", default=None)


def enter_step(step: str | None) -> None:
    """The node starting in this thread is in ``step`` (``None``: in the run itself)."""
    _current.set(step)


def current_step() -> str | None:
    return _current.get()


def in_current_step(record: Record) -> Record:
    """``record`` for the current node's child run (as it is, outside any step)."""
    return for_step(_current.get(), record)
