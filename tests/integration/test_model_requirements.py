"""A saved model's requirements are inferred by MLflow once, then reused until what they follow from changes.

MLflow's inference is a process (``mlflow/utils/_capture_modules.py``) that loads the model: the tests
count those processes as this test process starts them (an audit hook), not the plugin's own word.
"""

from __future__ import annotations

import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kedro_azureml_mlflow.core.user_cache import CACHE_ENV
from kedro_azureml_mlflow.datasets import MlflowModelDataset

_recording: list[list[str]] = []  # the list of the test running, while it runs


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "subprocess.Popen" and _recording:
        _recording[-1].append(" ".join(map(str, args[1] if isinstance(args[1], list | tuple) else [args[1]])))


sys.addaudithook(_audit)  # audit hooks cannot be removed: it records only inside inferences()


@pytest.fixture
def inferences() -> Iterator[list[str]]:
    """The command lines of the processes this test process starts while the test runs."""
    started: list[str] = []
    _recording.append(started)
    try:
        yield started
    finally:
        _recording.remove(started)


def captures(started: list[str]) -> int:
    return sum("_capture_modules" in command for command in started)


@pytest.fixture
def own_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    """A model class in a package of the project's own (not installed), as a Kedro project's code is."""
    name = f"reqprobe_{uuid.uuid4().hex[:8]}"
    package = tmp_path / "src" / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "model.py").write_text(
        textwrap.dedent(
            """
            class Model:
                def __init__(self, weight):
                    self.weight = weight

                def predict(self, rows):
                    return [self.weight for _ in rows]
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    return name, package


def _save(model: Any, folder: Path, **save_args: Any) -> list[str]:
    MlflowModelDataset(flavor="sklearn", filepath=str(folder), save_args=save_args or None).save(model)
    return (folder / "requirements.txt").read_text().splitlines()


def test_requirements_are_inferred_once_and_again_when_the_models_own_code_changes(
    own_package: tuple[str, Path], tmp_path: Path, inferences: list[str]
) -> None:
    from sklearn.linear_model import LogisticRegression

    fitted = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    first = _save(fitted, tmp_path / "first")
    assert captures(inferences) == 1
    assert any(line.startswith("scikit-learn==") for line in first)

    second = _save(LogisticRegression(C=2.0).fit([[0.0], [1.0]], [0, 1]), tmp_path / "second")
    assert captures(inferences) == 1  # the same make-up in the same environment: reused
    assert second == first

    name, package = own_package
    import importlib

    own = importlib.import_module(f"{name}.model").Model(0.5)
    _save(own, tmp_path / "own", serialization_format="cloudpickle")  # skops refuses a class it does not know
    assert captures(inferences) == 2  # another package referenced, another format: inferred
    _save(own, tmp_path / "own-again", serialization_format="cloudpickle")
    assert captures(inferences) == 2

    (package / "model.py").write_text((package / "model.py").read_text() + "\nimport json  # the code changed\n")
    _save(own, tmp_path / "own-changed", serialization_format="cloudpickle")
    assert captures(inferences) == 3  # its code changed: it may import something else now

    _save(fitted, tmp_path / "cloudpickled", serialization_format="cloudpickle")
    assert captures(inferences) == 4  # the first model in another format: its requirements differ (cloudpickle)


def test_requirements_the_user_chose_are_used_as_they_are_and_nothing_is_kept(
    own_package: tuple[str, Path], tmp_path: Path, inferences: list[str]
) -> None:
    from sklearn.linear_model import LogisticRegression

    fitted = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    chosen = _save(fitted, tmp_path / "chosen", pip_requirements=["scikit-learn", "mlflow"])
    assert captures(inferences) == 0
    assert "scikit-learn" in chosen
    assert not (tmp_path / "cache" / "model-requirements").exists()


def test_a_model_plain_pickle_cannot_walk_is_inferred_every_time(
    own_package: tuple[str, Path], tmp_path: Path, inferences: list[str]
) -> None:
    from sklearn.preprocessing import FunctionTransformer

    unwalkable = FunctionTransformer(lambda rows: rows)  # MLflow's cloudpickle takes it, plain pickle does not
    _save(unwalkable, tmp_path / "one", serialization_format="cloudpickle")
    _save(unwalkable, tmp_path / "two", serialization_format="cloudpickle")
    assert captures(inferences) == 2
