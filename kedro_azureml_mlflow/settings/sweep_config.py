"""The ``sweep:`` section of ``azureml.yml``: defaults for ``kedro azureml sweep`` (the command line wins).

Part of the config model, so it lives with it; what a sweep does with it is ``sweeps/settings.py``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Goal = Literal["maximize", "minimize"]
Sampling = Literal["grid", "random", "bayesian"]


class SweepConfig(BaseModel):
    """Defaults for ``kedro azureml sweep``; every key can be overridden on the command line."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    objective: str | None = Field(default=None, min_length=1)
    """The metric to optimise, as the plugin logs it: ``<metrics dataset>.<key>``, e.g. ``model_metrics.accuracy``."""
    goal: Goal | None = None
    """Whether a higher (``maximize``) or lower (``minimize``) objective is better."""
    search: dict[str, str] = Field(default_factory=dict)
    """Parameters (dotted names) and Azure ML search expressions: ``model.C: choice(0.1, 1.0, 10.0)``."""
    sampling: Sampling | None = None
    """``grid`` (only ``choice``), ``random`` or ``bayesian``; default: grid when every expression is a choice."""
    max_trials: int | None = Field(default=None, ge=1)
    """How many trials; default for grid: every combination; required otherwise."""
    max_concurrent: int = Field(default=1, ge=1)
    """How many trials run at once."""
    timeout_minutes: float | None = Field(default=None, gt=0)
    """Stop the sweep after this long: running trials are stopped (``KILLED``), no new ones start."""
    seed: int | None = None
    """The random sampler's seed (logged with the sweep, so a sweep can be repeated); default: a new one."""
