"""A step's inputs reach ``step_main`` as they are, whatever the value holds: on its standard input, in a
quoted here-document, not as shell words (a value with ``'`` used to end the word it was put in)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from kedro.pipeline import node, pipeline

from kedro_azureml_mlflow.bundle.mlproject import RunArguments
from kedro_azureml_mlflow.core.errors import PluginError
from kedro_azureml_mlflow.pipeline_jobs.plan import plan_pipeline
from kedro_azureml_mlflow.pipeline_jobs.step_command import step_command
from kedro_azureml_mlflow.pipeline_jobs.step_inputs import END, read_inputs
from kedro_azureml_mlflow.settings.config import SubmitConfig

AWKWARD = "it's \"quoted\" $HOME `id` \\n back\\slash\nsecond line ''"
PLACEHOLDER = re.compile(r"\$\{\{inputs\.([a-z0-9_]+)\}\}")


def _f(*args: object) -> int:
    return 1


def _single_step_command(tmp_path: Path, parameters: dict[str, object]) -> str:
    p = pipeline([node(_f, ["params:label", "params:n"], "out", name="say")])
    (step,) = plan_pipeline(p, "node", tmp_path, {}, parameters, SubmitConfig()).steps
    return step_command(step, RunArguments(env="base"))


def test_no_input_placeholder_is_a_shell_word_and_each_value_comes_back_as_it_was(tmp_path: Path) -> None:
    command = _single_step_command(tmp_path, {"label": AWKWARD, "n": 3})
    shell_line, _, document = command.partition("\n")
    assert shell_line.endswith(f"--inputs-on-stdin <<'{END}'")  # a quoted delimiter: the body is read literally
    assert "${{inputs." not in shell_line
    assert document.endswith("\n" + END)
    # Azure ML pastes each value in place of its placeholder; the step reads the body on its standard input.
    values = {"p_label": AWKWARD, "p_n": "3"}
    body = PLACEHOLDER.sub(lambda m: values[m.group(1)], document.removesuffix(END))
    assert read_inputs(body) == values


def test_an_empty_value_and_no_inputs_at_all() -> None:
    assert read_inputs("#kedro-azureml-input p_a\n\n#kedro-azureml-input p_b\nx\n") == {"p_a": "", "p_b": "x"}
    assert read_inputs("") == {}


@pytest.mark.parametrize("line", [END, "#kedro-azureml-input p_x"])
def test_a_value_the_here_document_cannot_carry_is_refused_naming_the_parameter(tmp_path: Path, line: str) -> None:
    with pytest.raises(PluginError, match=r"parameter `label`: a line of its value is"):
        _single_step_command(tmp_path, {"label": f"first\n{line}\nlast", "n": 3})
