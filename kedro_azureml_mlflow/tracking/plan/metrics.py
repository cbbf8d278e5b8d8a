"""Recognise metric-like node outputs and turn them into MLflow metric records."""

from __future__ import annotations

import fnmatch
import logging
import math
import numbers
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kedro_azureml_mlflow.tracking.wire.batching import Batch, MetricRecord

logger = logging.getLogger(__name__)


def is_metrics_dataset(name: str, patterns: Iterable[str]) -> bool:
    """Whether a dataset's name matches one of the configured shell-style patterns."""
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_number_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and bool(value) and all(_is_number(v) for v in value)


def to_metric_records(name: str, value: Any, separator: str, timestamp_ms: int) -> list[MetricRecord] | None:
    """Metric records for ``value`` logged under ``name``; ``None`` when it is not metric-like.

    A number is one value at step 0, a list of numbers is one value per step, and a dict
    (nested ones flattened with ``separator``) is one metric per leaf, named ``name.key``.
    Anything else in a dict makes the whole value not metric-like, so nothing is half-logged.
    """
    records: list[MetricRecord] = []
    if not _collect(name, value, separator, timestamp_ms, records):
        return None
    _warn_infinite(records)
    return records


def _warn_infinite(records: list[MetricRecord]) -> None:
    """MLflow stores ±inf as ±1.8e308 (the largest float) without a word; say so, per metric.

    NaN needs no warning: MLflow's stores keep it as NaN.
    """
    infinite = {key: value for key, value, _, _ in records if math.isinf(value)}
    for key, value in infinite.items():
        logger.warning(
            "Metric '%s' is %s; MLflow stores it as %s1.8e308, the largest float", key, value, "-" * (value < 0)
        )


def _collect(name: str, value: Any, separator: str, timestamp_ms: int, out: list[MetricRecord]) -> bool:
    if _is_number(value):
        out.append((name, float(value), timestamp_ms, 0))
        return True
    if _is_number_list(value):
        out.extend((name, float(v), timestamp_ms, step) for step, v in enumerate(value))
        return True
    if isinstance(value, Mapping) and value:
        return all(
            _collect(f"{name}{separator}{key}", item, separator, timestamp_ms, out) for key, item in value.items()
        )
    return False


@dataclass(frozen=True)
class MetricRules:
    """Which node outputs are metrics and how their names are built (shared with workers)."""

    patterns: tuple[str, ...]
    separator: str

    def records(self, outputs: dict[str, Any], declared: Mapping[str, str]) -> Batch:
        """The metric records of ``outputs``: those ``declared`` as metrics (name -> name to log it under,
        from the catalog) and those whose name matches the patterns."""
        batch = Batch()
        stamp = int(time.time() * 1000)
        for name, value in outputs.items():
            if not (name in declared or is_metrics_dataset(name, self.patterns)):
                continue
            key = declared.get(name, name)
            records = to_metric_records(key, value, self.separator, stamp)
            if records is None:
                logger.warning(
                    "Output '%s' matches tracking.metrics.datasets but is not a number, a dict of "
                    "numbers or a list of numbers; not logged",
                    name,
                )
                continue
            batch.metrics.extend(records)
        return batch
