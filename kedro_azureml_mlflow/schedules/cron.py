"""Check a cron expression and a ``--every`` recurrence the way Azure ML reads them, before anything is sent.

Azure ML takes five numeric crontab fields (minute, hour, day of month, month, day of week with
0 = Sunday): ``*``, numbers, ranges ``a-b``, steps ``*/n`` and ``a-b/n``, and comma lists of those.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kedro_azureml_mlflow.core.errors import PluginError, quoted

FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 6))
_ITEM = re.compile(r"(?P<range>\*|\d+(?:-\d+)?)(?:/(?P<step>\d+))?")
# --every's units and the frequency names Azure ML's recurrence trigger takes.
UNITS = {"minute": "minute", "hour": "hour", "day": "day", "week": "week", "month": "month"}
_EVERY = re.compile(r"(?P<count>\d+)?\s*(?P<unit>[a-z]+?)s?")


def check_cron(expression: str) -> str:
    """The expression with its fields single-spaced, or one error line naming the bad field."""
    fields = expression.split()
    if len(fields) != len(FIELDS):
        raise PluginError(
            f"--cron {quoted(expression)} has {len(fields)} fields; expected 5: minute hour day-of-month month "
            'day-of-week, e.g. "0 2 * * *"'
        )
    for text, (name, low, high) in zip(fields, FIELDS, strict=True):
        for item in text.split(","):
            problem = _item_problem(item, low, high)
            if problem:
                raise PluginError(
                    f"--cron {quoted(expression)}: the {name} field {quoted(text)} {problem}; expected *, a number "
                    f"from {low} to {high}, a range a-b, a step */n or a-b/n, or a comma list of those"
                )
    return " ".join(fields)


def _item_problem(item: str, low: int, high: int) -> str | None:
    match = _ITEM.fullmatch(item)
    if match is None:
        return "is not numeric crontab"
    if match["step"] is not None and int(match["step"]) == 0:
        return "has a step of 0"
    if match["range"] == "*":
        return None
    start, _, end = match["range"].partition("-")
    numbers = [int(start)] + ([int(end)] if end else [])
    if any(n < low or n > high for n in numbers):
        return "is out of range"
    if end and int(end) < int(start):
        return "is a range that ends before it starts"
    return None


@dataclass(frozen=True)
class Every:
    """A recurrence: every ``interval`` ``frequency`` (Azure ML's names: minute, hour, day, week, month)."""

    interval: int
    frequency: str


def parse_every(text: str) -> Every:
    """``"1 day"``, ``"6 hours"``, ``"week"`` as a recurrence, or one error line."""
    match = _EVERY.fullmatch(text.strip().lower())
    unit = match["unit"] if match else ""
    if match is None or unit not in UNITS or (match["count"] is not None and int(match["count"]) < 1):
        raise PluginError(
            f"--every {quoted(text)} is not a recurrence; expected a positive number and one of "
            f'{", ".join(UNITS)} (plural allowed), e.g. "1 day" or "6 hours"'
        )
    return Every(interval=int(match["count"] or 1), frequency=UNITS[unit])
