"""``kedro azureml …``: the plugin's project commands.

Each command lives in a module of its own; :mod:`.group` maps command names to them and imports
a module only when its command runs, so ``kedro --help`` stays fast.
"""

from kedro_azureml_mlflow.cli.group import azureml, commands

__all__ = ["azureml", "commands"]
