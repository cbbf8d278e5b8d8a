"""The settings a sweep runs with: the ``sweep:`` section of ``azureml.yml`` (``settings/sweep_config.py``)
with the command line over it, checked and resolved into the trials to run."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kedro_azureml_mlflow.core.errors import PluginError
from kedro_azureml_mlflow.settings.sweep_config import Goal, SweepConfig
from kedro_azureml_mlflow.sweeps.sampling import check_sampling, default_sampling, plan_trials
from kedro_azureml_mlflow.sweeps.search_space import SearchDimension, parse_expression, parse_search


@dataclass(frozen=True)
class SweepSettings:
    """What one sweep runs with, after the command line and ``sweep:`` are merged and checked."""

    objective: str
    goal: Goal
    space: tuple[SearchDimension, ...]
    sampling: str
    max_trials: int
    max_concurrent: int
    timeout_minutes: float | None
    seed: int
    trials: tuple[dict[str, Any], ...]
    requested_sampling: str

    def as_params(self) -> dict[str, str]:
        """The sweep's definition as the parent run's params (``search.<name>`` per dimension)."""
        params = {
            "sweep.objective": self.objective,
            "sweep.goal": self.goal,
            "sweep.sampling": self.sampling,
            "sweep.max_trials": str(self.max_trials),
            "sweep.max_concurrent": str(self.max_concurrent),
            "sweep.seed": str(self.seed),
        }
        if self.requested_sampling != self.sampling:
            params["sweep.requested_sampling"] = self.requested_sampling
        if self.timeout_minutes is not None:
            params["sweep.timeout_minutes"] = str(self.timeout_minutes)
        params.update({f"search.{dim.name}": dim.expression.text() for dim in self.space})
        return params


def resolve_settings(defaults: SweepConfig, cli: dict[str, Any], config_file: str, local: bool) -> SweepSettings:
    """Merge ``--objective``, ``--search``, … over ``sweep:``; every missing or refused value is one line.

    ``local``: Bayesian sampling falls back to random (the caller says so).
    """
    objective = cli.get("objective") or defaults.objective
    goal = cli.get("goal") or defaults.goal
    if not objective:
        raise PluginError(
            f"No objective: pass --objective <metrics dataset>.<key> or set sweep.objective in {config_file}"
        )
    if not goal:
        raise PluginError(f"No goal: pass --goal maximize|minimize or set sweep.goal in {config_file}")
    space = _space(cli.get("search") or (), defaults.search)
    if not space:
        raise PluginError(f"Nothing to search: pass --search name=expression or set sweep.search in {config_file}")
    requested = cli.get("sampling") or defaults.sampling or default_sampling(space)
    sampling = "random" if local and requested == "bayesian" else requested
    max_trials = cli.get("max_trials") or defaults.max_trials
    seed = cli.get("seed") if cli.get("seed") is not None else defaults.seed
    seed = seed if seed is not None else secrets.randbelow(2**31)
    check_sampling(space, requested)  # Azure's rules even where the sampling falls back: the sweep must submit too
    trials = plan_trials(space, sampling, max_trials, seed)
    return SweepSettings(
        objective=objective,
        goal=goal,
        space=tuple(space),
        sampling=sampling,
        max_trials=len(trials),
        max_concurrent=cli.get("max_concurrent") or defaults.max_concurrent,
        timeout_minutes=cli.get("timeout") or defaults.timeout_minutes,
        seed=seed,
        trials=tuple(trials),
        requested_sampling=requested,
    )


def _space(cli_search: Sequence[str], configured: dict[str, str]) -> list[SearchDimension]:
    """``--search`` items, if any, are the whole space (``sweep.search`` is then not read)."""
    if not cli_search:
        return [SearchDimension(name, parse_expression(text, name)) for name, text in configured.items()]
    space = [parse_search(item) for item in cli_search]
    names = [dim.name for dim in space]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise PluginError(f"--search {repeated[0]!r} is given twice")
    return space
