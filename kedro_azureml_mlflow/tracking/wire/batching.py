"""Split what a run logs into ``log_batch`` requests that every server accepts.

Limits are the stricter of MLflow's and Azure ML's (Azure ML takes at most 250 metric values
per request and answers heavier logging with HTTP 429).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from pydantic import ConfigDict, with_config

MAX_PARAMS_PER_BATCH = 100
MAX_TAGS_PER_BATCH = 100
MAX_METRICS_PER_BATCH = 250
MAX_ENTITIES_PER_BATCH = 1000
REQUEST_LIMITS = {"metrics": MAX_METRICS_PER_BATCH, "params": MAX_PARAMS_PER_BATCH, "tags": MAX_TAGS_PER_BATCH}
MAX_BATCH_BYTES = 900_000  # MLflow refuses requests over 1 MB; leave room for JSON framing
_ENTITY_OVERHEAD_BYTES = 64

MetricRecord = tuple[str, float, int, int]  # key, value, timestamp (ms), step
Entity = TypeVar("Entity", MetricRecord, tuple[str, str])  # a metric, or a param / tag


@with_config(ConfigDict(extra="forbid", coerce_numbers_to_str=True))  # checked where it is read (parse_record)
@dataclass
class Batch:
    """One ``log_batch`` request's worth of entities; as a record, ``{"metrics": …, "params": …, "tags": …}``."""

    metrics: list[MetricRecord] = field(default_factory=list)
    params: list[tuple[str, str]] = field(default_factory=list)
    tags: list[tuple[str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.metrics or self.params or self.tags)

    def size(self) -> int:
        return len(self.metrics) + len(self.params) + len(self.tags)

    def extend(self, other: Batch) -> None:
        self.metrics.extend(other.metrics)
        self.params.extend(other.params)
        self.tags.extend(other.tags)

    def singles(self) -> Iterator[Batch]:
        """Each entity as a batch of its own (to isolate one the server refuses)."""
        yield from (Batch(params=[p]) for p in self.params)
        yield from (Batch(tags=[t]) for t in self.tags)
        yield from (Batch(metrics=[m]) for m in self.metrics)


def chunk(batch: Batch) -> Iterator[Batch]:
    """Yield requests within every per-request limit, params and tags first.

    Params and tags go before metrics so a rejected param (e.g. a changed value on a resumed
    run) never takes metrics down with it: they are never mixed into the same request.
    """
    yield from _chunk_kind(batch.params, MAX_PARAMS_PER_BATCH, lambda items: Batch(params=items))
    yield from _chunk_kind(batch.tags, MAX_TAGS_PER_BATCH, lambda items: Batch(tags=items))
    yield from _chunk_kind(batch.metrics, MAX_METRICS_PER_BATCH, lambda items: Batch(metrics=items))


def _chunk_kind(items: list[Entity], limit: int, make: Callable[[list[Entity]], Batch]) -> Iterator[Batch]:
    limit = min(limit, MAX_ENTITIES_PER_BATCH)
    current: list[Entity] = []
    size = 0
    for item in items:
        item_bytes = sum(len(str(part)) for part in item) + _ENTITY_OVERHEAD_BYTES
        if current and (len(current) >= limit or size + item_bytes > MAX_BATCH_BYTES):
            yield make(current)
            current, size = [], 0
        current.append(item)
        size += item_bytes
    if current:
        yield make(current)
