"""A sweep as an Azure ML sweep job: the command job ``submit`` builds, with the searched Kedro parameters as
its inputs and each trial's ``kedro run --params`` reading them.

Azure ML names a sweep's inputs with letters, digits and ``_`` only, so ``model.C`` is the input
``model_C``; the mapping travels with the job as the tag ``kedro.sweep.inputs``. Azure ML writes each
trial's values into the command (``${{search_space.model_C}}``), and the plugin's hooks inside the trial
log them as the trial run's params, as in any ``kedro run``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from kedro_azureml_mlflow.core.errors import PluginError
from kedro_azureml_mlflow.sweeps.search_space import SIGNATURES, Expression, SearchDimension
from kedro_azureml_mlflow.sweeps.settings import SweepSettings

INPUTS_TAG = "kedro.sweep.inputs"
EARLY_TERMINATION = ("bandit", "median")
_NOT_AN_INPUT_CHARACTER = re.compile(r"[^A-Za-z0-9_]")


def input_names(space: Sequence[SearchDimension]) -> dict[str, str]:
    """Kedro parameter -> the trial input Azure ML accepts for it (``model.C`` -> ``model_C``), all distinct."""
    names: dict[str, str] = {}
    for dim in space:
        base = _NOT_AN_INPUT_CHARACTER.sub("_", dim.name)
        base = f"p_{base}" if base[0].isdigit() else base
        name, n = base, 2
        while name in names.values():
            name, n = f"{base}_{n}", n + 1
        names[dim.name] = name
    return names


def trial_params(fixed: str, names: dict[str, str]) -> str:
    """``kedro run --params`` of every trial: the fixed values, then each searched one as its input."""
    searched = [f"{param}=${{{{inputs.{name}}}}}" for param, name in names.items()]
    return ",".join(filter(None, [fixed, *searched]))


def distribution(expression: Expression) -> Any:
    """The SDK's object for a search expression (``choice(0.1, 1)`` -> ``Choice([0.1, 1])``)."""
    from azure.ai.ml import sweep

    if expression.kind == "choice":
        return sweep.Choice(values=list(expression.args))
    classes = {
        "uniform": sweep.Uniform,
        "loguniform": sweep.LogUniform,
        "quniform": sweep.QUniform,
        "qloguniform": sweep.QLogUniform,
        "randint": sweep.Randint,
        "normal": sweep.Normal,
        "lognormal": sweep.LogNormal,
        "qnormal": sweep.QNormal,
        "qlognormal": sweep.QLogNormal,
    }
    return classes[expression.kind](**dict(zip(SIGNATURES[expression.kind], expression.args, strict=True)))


def sampling_algorithm(settings: SweepSettings) -> Any:
    """Azure ML's sampling: random keeps the sweep's seed, so a random sweep can be repeated there too."""
    from azure.ai.ml.sweep import RandomSamplingAlgorithm

    if settings.requested_sampling == "random":
        return RandomSamplingAlgorithm(seed=settings.seed)
    return settings.requested_sampling


def early_termination_policy(name: str | None) -> Any:
    """``bandit`` (slack 10 %) or ``median`` stopping, evaluated at each logged value of the objective."""
    if name is None:
        return None
    from azure.ai.ml.sweep import BanditPolicy, MedianStoppingPolicy

    if name == "bandit":
        return BanditPolicy(slack_factor=0.1, evaluation_interval=1)
    if name == "median":
        return MedianStoppingPolicy(evaluation_interval=1)
    raise PluginError(f"--early-termination {name!r}: expected one of {', '.join(EARLY_TERMINATION)}")


def sweep_job(command_job: Any, settings: SweepSettings, names: dict[str, str], early_termination: str | None) -> Any:
    """The sweep node of ``command_job`` (whose command reads ``${{inputs.<name>}}``), ready to create."""
    space = {names[dim.name]: distribution(dim.expression) for dim in settings.space}
    timeout = settings.timeout_minutes
    job = command_job.sweep(
        primary_metric=settings.objective,
        goal=settings.goal,
        sampling_algorithm=sampling_algorithm(settings),
        search_space=space,
        max_total_trials=settings.max_trials,
        max_concurrent_trials=settings.max_concurrent,
        timeout=int(timeout * 60) if timeout else None,
        early_termination_policy=early_termination_policy(early_termination),
    )
    job.tags = {**dict(job.tags or {}), INPUTS_TAG: json.dumps(names, separators=(",", ":"))}
    return job


def describe(settings: SweepSettings, names: dict[str, str], early_termination: str | None) -> list[str]:
    """What a dry run prints about the sweep: everything the sweep job adds to the command job."""
    seed = f" (seed {settings.seed})" if settings.requested_sampling == "random" else ""
    timeout = f", stopped after {settings.timeout_minutes} minutes" if settings.timeout_minutes else ""
    return [
        f"objective: {settings.goal} {settings.objective}",
        f"sampling: {settings.requested_sampling}{seed}",
        f"trials: at most {settings.max_trials}, {settings.max_concurrent} at once{timeout}",
        f"early termination: {early_termination or 'none'}",
        *(f"search: {dim.name} as input {names[dim.name]} = {dim.expression.text()}" for dim in settings.space),
    ]
