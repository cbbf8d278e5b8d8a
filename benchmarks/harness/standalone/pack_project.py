"""Pack a Kedro project as `kedro azureml submit` does before an upload (not a dry run) and print,
as one JSON line, how long it took and what the staging folder held.

Run in the project's folder with the venv's python: `python pack_project.py <package name>`. The
clock covers what a submission does before the upload: selection, the credentials check, staging
(hard links), the generated files, the plugin wheel (from its cache) and removing the staging folder.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from kedro.framework.startup import bootstrap_project

from kedro_azureml_mlflow.bundle.build import PackageRequest, package_project, staging_folder
from kedro_azureml_mlflow.bundle.mlproject import RunArguments


def main() -> None:
    project = Path.cwd()
    bootstrap_project(project)
    request = PackageRequest(project_path=project, name=sys.argv[1], run=RunArguments(), exclude_data=False)
    started, cpu_started = time.perf_counter(), time.process_time()
    with staging_folder(project) as staging:
        package = package_project(request, staging / sys.argv[1])
        staged = [p for p in package.staging.rglob("*") if p.is_file()]
        linked = sum(1 for p in staged if p.stat().st_nlink > 1)
        staged_bytes = sum(p.stat().st_size for p in staged)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "files": len(staged),
                "bytes": staged_bytes,
                "linked": linked,
            }
        )
    )


if __name__ == "__main__":
    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
    main()
