"""``kedro azureml …``: the plugin's project commands.

Each command lives in a module of its own and attaches itself to the group in
:mod:`.group`; importing them here registers them. Command bodies import ``mlflow`` and
``azure.*`` lazily so ``kedro --help`` stays fast.
"""

from kedro_azureml_mlflow.cli import init, jobs, runs, submit, sync, ui  # noqa: F401  (registers the commands)
from kedro_azureml_mlflow.cli.group import azureml, commands

__all__ = ["azureml", "commands"]
