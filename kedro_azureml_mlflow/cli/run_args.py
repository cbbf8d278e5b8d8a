"""Check ``submit``'s run arguments here, in one line each, before anything is packaged or sent.

The job runs ``kedro run`` with them on Azure ML compute, where a typo costs a queued job and a
traceback in its log; and whatever the job's command line holds is stored by Azure ML in clear.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

import click
import yaml

from kedro_azureml_mlflow.core.errors import PluginError, quoted
from kedro_azureml_mlflow.core.redaction import Redactor

RUNTIME_PARAMS = "kedro_azureml_mlflow.runtime_params"
"""Where ``check_params`` leaves the parsed ``--params`` in the click context, for the input check."""


def check_params(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Reject malformed ``--params`` with Kedro's own parser; the job gets the text unchanged."""
    from omegaconf.errors import OmegaConfBaseException

    from kedro_azureml_mlflow.core.compat import parse_kedro_params

    try:
        ctx.meta[RUNTIME_PARAMS] = parse_kedro_params(ctx, param, value)
    except click.UsageError as exc:
        raise PluginError(_cut_items(exc.message, value)) from None
    except (yaml.YAMLError, OmegaConfBaseException, ValueError) as exc:
        problem = str(getattr(exc, "problem", None) or exc).splitlines()[0]
        raise PluginError(f"--params {quoted(value)} cannot be read as key=value pairs: {problem[:200]}") from None
    return value


def _cut_items(message: str, value: str, limit: int = 80) -> str:
    """Kedro's message quotes the offending item whole: cut a long one, so the line stays a line."""
    for item in sorted(value.split(","), key=len, reverse=True):
        if len(item) > limit:
            message = message.replace(item, item[:limit] + "…")
    return message


def check_no_secret_params(params: str, patterns: Iterable[str]) -> None:
    """A job's command line is stored (and shown in Studio) in clear: no secrets on it."""
    secret = Redactor(patterns).secret_keys(params)
    if secret:
        raise PluginError(
            f"--params {quoted(', '.join(secret))}: looks like a secret (tracking.redact), and a job's command line is "
            "stored by Azure ML in clear; read it in the job from credentials or Key Vault instead"
        )


def check_selection(pipeline: Any, pipeline_name: str, nodes: str, tags: str) -> None:
    """``--nodes`` and ``--tags`` must each name something in the pipeline (closest names suggested)."""
    from kedro.framework.cli.utils import split_node_names, split_string

    ctx = click.get_current_context()
    node_names = {node.name for node in pipeline.nodes}
    node_tags = {tag for node in pipeline.nodes for tag in node.tags}
    _check_names("--nodes", split_node_names(ctx, None, nodes), node_names, pipeline_name)
    _check_names("--tags", split_string(ctx, None, tags), node_tags, pipeline_name)


def _check_names(option: str, given: list[str], known: set[str], pipeline_name: str) -> None:
    for name in given:
        if name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"it has: {', '.join(sorted(known)[:20]) or '(none)'}"
        raise PluginError(f"{option} {quoted(name)} is not in pipeline {quoted(pipeline_name)}; {hint}")
