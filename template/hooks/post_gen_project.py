"""Cookiecutter post-generation hook: write ``conf/base/azureml.yml``.

The file is not kept in the template: it is the commented default that ships inside the
installed ``kedro_azureml_mlflow`` package (as ``kedro azureml init`` writes it), with data
upload switched on because the example reads its raw data on the compute, and model registration
off until the user opts in. Cookiecutter runs this hook with the
interpreter that runs ``kedro new``, which is the one the plugin is installed in.
Cookiecutter runs it from the root of the generated project.
"""

from __future__ import annotations

import sys
from pathlib import Path


def _default_config_text() -> str:
    from kedro_azureml_mlflow.settings.init_config import default_config_text

    # The example pipeline reads data/01_raw/iris.csv, so a submitted job needs data/ uploaded;
    # registering its model in the workspace's registry is the user's choice (models.registration).
    return default_config_text(upload_data=True, register_models=False)


def main() -> None:
    try:
        text = _default_config_text()
    except (ImportError, OSError) as exc:
        sys.stderr.write(
            "kedro-azureml-mlflow starter: could not read the packaged azureml.default.yml "
            f"({exc}). Is kedro-azureml-mlflow installed in the interpreter running "
            "`kedro new`?\n"
        )
        raise SystemExit(1) from exc
    target = Path.cwd() / "conf" / "base" / "azureml.yml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
