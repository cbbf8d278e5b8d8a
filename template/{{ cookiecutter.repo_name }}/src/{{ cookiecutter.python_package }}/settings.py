"""Project settings. There is no need to edit this file unless you want to change values
from the Kedro defaults: see https://docs.kedro.org/en/stable/configure/configuration_basics/

kedro-azureml-mlflow needs nothing here: its hooks register themselves when the plugin is
installed, and it reads conf/<env>/azureml.yml on its own. To run without tracking, set
`tracking.enabled: false` there, or KEDRO_AZUREML_MLFLOW_TRACKING=off in the environment
(tests/conftest.py does, for the project's own tests), or disable the plugin's hooks with
DISABLE_HOOKS_FOR_PLUGINS = ("kedro-azureml-mlflow",)
"""

import warnings

# Kedro's config loader still calls OmegaConf.register_new_resolver(), which omegaconf 2.4 deprecates
# with a 12-line warning on every `kedro` command. It is Kedro's to change, not yours: silenced here for
# Kedro's own calls only (module kedro.*), so a deprecation in your code still shows. Delete these lines
# once Kedro calls register_resolver().
warnings.filterwarnings(
    "ignore",
    message=r"register_new_resolver\(\) is deprecated",
    category=UserWarning,
    module=r"kedro\.",
)

# Instantiated project hooks, e.g. after creating a hooks.py with a ProjectHooks class:
# from {{ cookiecutter.python_package }}.hooks import ProjectHooks
# HOOKS = (ProjectHooks(),)

# Keyword arguments to pass to the `CONFIG_LOADER_CLASS` constructor.
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
}
