"""What a sweep prints: one line per trial as it ends, the table of all trials and the best at the end."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kedro_azureml_mlflow.sweeps.local_runner import FINISHED, SweepOutcome, TrialResult

_STYLE = {FINISHED: "green", "FAILED": "red", "KILLED": "yellow"}


def objective_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def trial_line(result: TrialResult, total: int, objective: str) -> str:
    """``trial 2/3 model.C=1.0 → model_metrics.accuracy 0.9667 FINISHED (run …, 31 s)`` (rich markup)."""
    values = " ".join(f"{name}={value!r}" for name, value in result.values.items())
    style = _STYLE.get(result.status, "white")
    where = f"run {result.run_id}" if result.run_id else "no run"
    line = (
        f"trial {result.number}/{total} {values} → {objective} {objective_text(result.objective)} "
        f"[{style}]{result.status}[/{style}] [dim]({where}, {result.seconds:.0f} s)[/dim]"
    )
    if result.status == "FAILED":
        line += f"\n  [dim]log: {result.log_path}[/dim]"
    return line


def trials_table(outcome: SweepOutcome, names: Sequence[str], objective: str) -> Any:
    """A rich table of every trial (the best marked), in trial order."""
    from rich.table import Table

    table = Table(title=f"Sweep {outcome.parent_run_id}: {outcome.status}")
    for column in ("trial", *names, objective, "status", "run"):
        table.add_column(column)
    for result in outcome.results:
        best = outcome.best is not None and result.number == outcome.best.number
        table.add_row(
            f"{result.number}{' *' if best else ''}",
            *(repr(result.values.get(name)) for name in names),
            objective_text(result.objective),
            result.status,
            result.run_id or "-",
            style="bold" if best else None,
        )
    return table


def best_line(outcome: SweepOutcome, objective: str) -> str:
    best = outcome.best
    if best is None:
        return f"[red]No trial logged {objective}[/red]: the sweep's run {outcome.parent_run_id} has no best"
    values = ", ".join(f"{name}={value!r}" for name, value in best.values.items())
    return (
        f"Best: trial {best.number} ({values}) {objective} = {objective_text(best.objective)}, run {best.run_id}; "
        f"the sweep's run is {outcome.parent_run_id}"
    )
