"""Which trials a sweep runs: every combination (grid) or draws (random), with Azure ML's rules.

Azure ML's grid sampling takes only ``choice``; Bayesian only ``choice``, ``uniform`` and
``quniform``. The same rules apply locally, so a sweep that runs here also submits.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence

from kedro_azureml_mlflow.core.errors import PluginError, quoted
from kedro_azureml_mlflow.sweeps.search_space import SearchDimension, Value

SAMPLINGS = ("grid", "random", "bayesian")
_ALLOWED = {"grid": {"choice"}, "bayesian": {"choice", "uniform", "quniform"}}

Trial = dict[str, Value]


def default_sampling(space: Sequence[SearchDimension]) -> str:
    """Grid when every expression is a ``choice`` (the space is finite), else random."""
    return "grid" if all(dim.expression.kind == "choice" for dim in space) else "random"


def check_sampling(space: Sequence[SearchDimension], sampling: str) -> None:
    """Refuse an expression the sampling cannot take, naming it."""
    allowed = _ALLOWED.get(sampling)
    if allowed is None:
        return
    for dim in space:
        if dim.expression.kind not in allowed:
            raise PluginError(
                f"--search {quoted(dim.name)}: {sampling} sampling takes only {', '.join(sorted(allowed))}, "
                f"not {dim.expression.kind}"
            )


def grid_size(space: Sequence[SearchDimension]) -> int:
    size = 1
    for dim in space:
        size *= len(dim.expression.args)
    return size


def plan_trials(space: Sequence[SearchDimension], sampling: str, max_trials: int | None, seed: int) -> list[Trial]:
    """The trials' parameter values, in the order they run.

    Grid: every combination (the first ``max_trials`` of them when that is smaller). Random: ``max_trials``
    independent draws from ``random.Random(seed)``, so a seed gives the same trials again. Bayesian needs a
    model of past trials that only Azure ML has: callers sample randomly instead, and say so.
    """
    check_sampling(space, sampling)
    if sampling == "grid":
        combinations = itertools.product(*(dim.expression.args for dim in space))
        trials = [dict(zip([dim.name for dim in space], values, strict=True)) for values in combinations]
        return trials[:max_trials] if max_trials is not None else trials
    if max_trials is None:
        raise PluginError(f"--max-trials is required with {sampling} sampling (or sweep.max_trials in azureml.yml)")
    rng = random.Random(seed)
    return [{dim.name: dim.expression.sample(rng) for dim in space} for _ in range(max_trials)]
