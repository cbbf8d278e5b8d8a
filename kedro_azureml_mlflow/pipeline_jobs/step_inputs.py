"""How a step's command hands Azure ML's input values to ``step_main``: on its standard input, as a
quoted here-document, never as shell words.

Azure ML pastes each ``${{inputs.<name>}}`` into the command text as it is, before the shell reads
it, so no quoting written around the placeholder survives every value: a parameter holding ``'``
ended the single-quoted word it was put in. Inside a here-document whose delimiter is quoted
(``<<'END'``) the shell reads every line literally, quotes, ``$``, backticks and backslashes
included. Each input is a marker line naming it, then its value (which may span lines)::

    python -m …step_main --spec '…' --output '${{outputs.data}}' --inputs-on-stdin <<'KEDRO_AZUREML_INPUTS'
    #kedro-azureml-input p_label
    ${{inputs.p_label}}
    KEDRO_AZUREML_INPUTS

A value with a line that is the delimiter, or starts with the marker, would end or split its input:
``submit`` refuses such a value (:func:`check_value`); a value changed later in Studio is not checked.
"""

from __future__ import annotations

from collections.abc import Iterable

from kedro_azureml_mlflow.core.errors import PluginError

END = "KEDRO_AZUREML_INPUTS"
MARKER = "#kedro-azureml-input "
STDIN_OPTION = "--inputs-on-stdin"


def here_document(names: Iterable[str]) -> str:
    """``<<'END'`` and the lines after it: each input's marker and placeholder (append to the command)."""
    lines = [f"{STDIN_OPTION} <<'{END}'"]
    for name in names:
        lines += [MARKER + name, f"${{{{inputs.{name}}}}}"]
    lines.append(END)
    return "\n".join(lines)


def read_inputs(text: str) -> dict[str, str]:
    """The here-document's body (as the step reads it on its standard input) back as name → value."""
    inputs: dict[str, str] = {}
    name: str | None = None
    value: list[str] = []
    for line in text.removesuffix("\n").split("\n"):
        if line.startswith(MARKER):
            if name is not None:
                inputs[name] = "\n".join(value)
            name, value = line.removeprefix(MARKER), []
        elif name is not None:
            value.append(line)
    if name is not None:
        inputs[name] = "\n".join(value)
    return inputs


def check_value(key: str, value: object) -> None:
    """Refuse a text value the here-document cannot carry (one error line naming the parameter)."""
    if not isinstance(value, str):
        return
    for line in value.split("\n"):
        if line == END or line.startswith(MARKER):
            raise PluginError(
                f"parameter `{key}`: a line of its value is `{line}`, which a pipeline job's step command uses "
                f"to pass inputs (a line `{END}`, or one starting with `{MARKER.strip()}`); change that line"
            )
