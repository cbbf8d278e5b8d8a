"""The plugin's one error type.

It is a ``click.ClickException`` so that from any ``kedro`` command the user sees one clear
line (``Error: …``) instead of a traceback from deep inside Kedro, pydantic, MLflow or Azure.
"""

from __future__ import annotations

import re

import click

_TERMINAL_CODES = re.compile(r"\x1b\[[0-9;]*m")


class PluginError(click.ClickException):
    """A problem the user can fix: the message says what, where and what was expected."""


class ConfigError(PluginError):
    """``azureml.yml`` (or a file it points to) is not what the plugin expects."""


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The useful part of a third-party exception's message: its first line with words in it (colour
    codes removed: azure-ai-ml colours its messages), bounded."""
    text = _TERMINAL_CODES.sub("", str(getattr(exc, "message", None) or exc))
    lines = [line.strip() for line in text.splitlines() if any(char.isalnum() for char in line)]
    return lines[0][:limit] if lines else type(exc).__name__


def quoted(value: str, limit: int = 80) -> str:
    """A user's value quoted for an error line, cut so that a huge one keeps the line short."""
    return repr(value) if len(value) <= limit else repr(value[:limit]) + f"… ({len(value)} characters)"


class JobNotEnded(PluginError):
    """The plugin stopped following a job that has not ended (it may still run): exit code 3, not 1."""

    exit_code = 3
