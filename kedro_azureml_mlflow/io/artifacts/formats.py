"""What a node output is as a file, and how to write it (pure: no MLflow, no heavy imports).

Types are recognised by the names of their classes (``matplotlib.figure.Figure``,
``plotly.basedatatypes.BaseFigure``, ``pandas.core.frame.DataFrame``), so matplotlib, plotly and
pandas are never imported here: an output can only be one of theirs if its node imported them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

DataFrameFormat = Literal["csv", "parquet"]

_MATPLOTLIB_FIGURE = "matplotlib.figure.Figure"
_PLOTLY_FIGURE = "plotly.basedatatypes.BaseFigure"
_DATAFRAME = "pandas.core.frame.DataFrame"
_SERIES = "pandas.core.series.Series"
_RANGE_INDEX = "pandas.core.indexes.range.RangeIndex"


@dataclass(frozen=True)
class OutputFile:
    """How one output becomes one file: its suffix, its size (known or estimated) and a writer."""

    kind: str
    suffix: str
    size_bytes: int
    write: Callable[[Path], None]


def type_name(value: Any) -> str:
    """``module.Class`` of a value, as warnings name it."""
    cls = type(value)
    return f"{cls.__module__}.{cls.__qualname__}"


def _is(value: Any, qualified: str) -> bool:
    return any(f"{cls.__module__}.{cls.__qualname__}" == qualified for cls in type(value).__mro__)


def as_file(value: Any, dataframe_format: DataFrameFormat = "csv") -> OutputFile | None:
    """The file ``value`` is logged as, or ``None`` when it is none of the types the plugin writes."""
    if _is(value, _MATPLOTLIB_FIGURE):
        return OutputFile("matplotlib figure", ".png", 0, lambda path: value.savefig(path, format="png"))
    if _is(value, _PLOTLY_FIGURE):
        # The plotly.js library from its CDN: a few kB per figure instead of 4 MB embedded.
        return OutputFile("plotly figure", ".html", 0, lambda path: value.write_html(path, include_plotlyjs="cdn"))
    if _is(value, _SERIES):
        value = value.to_frame()
    if _is(value, _DATAFRAME):
        return _dataframe_file(value, dataframe_format)
    if isinstance(value, str):
        return _bytes_file("text", ".txt", value.encode("utf-8"))
    if isinstance(value, (dict, list, tuple)):
        text = _json_text(value)
        return None if text is None else _bytes_file("JSON", ".json", text.encode("utf-8"))
    return None


def _dataframe_file(frame: Any, dataframe_format: DataFrameFormat) -> OutputFile:
    size = int(frame.memory_usage(deep=True).sum())
    if dataframe_format == "parquet":
        return OutputFile("DataFrame", ".parquet", size, frame.to_parquet)
    keep_index = not _is(frame.index, _RANGE_INDEX)  # a plain 0..n-1 index is noise in a CSV
    return OutputFile("DataFrame", ".csv", size, lambda path: frame.to_csv(path, index=keep_index))


def _bytes_file(kind: str, suffix: str, content: bytes) -> OutputFile:
    def write(path: Path) -> None:
        path.write_bytes(content)

    return OutputFile(kind, suffix, len(content), write)


def _json_text(value: Any) -> str | None:
    """JSON for dicts and lists of plain values (numpy scalars and arrays included); else ``None``."""
    try:
        return json.dumps(value, indent=2, default=_plain, allow_nan=True)
    except (TypeError, ValueError):
        return None


def _plain(item: Any) -> Any:
    for method in ("tolist", "item"):  # numpy arrays and scalars, pandas scalars
        convert = getattr(item, method, None)
        if callable(convert):
            return convert()
    raise TypeError(f"{type_name(item)} is not JSON-able")
