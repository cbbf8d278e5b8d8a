"""A pipeline job's step, on the compute: run its nodes as ``kedro run`` would, with the data
routes and the parameters the pipeline job hands it.

``python -m kedro_azureml_mlflow.pipeline_jobs.step_main --spec JSON --output DIR [--inputs-on-stdin]``
(built by :mod:`step_command`; the inputs' values come on standard input, see :mod:`step_inputs`).
Runs in the project folder (the code snapshot).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from kedro_azureml_mlflow.io.step_catalog import STEP_DATA_ENV
from kedro_azureml_mlflow.pipeline_jobs.lineage import read_lineage, write_lineage
from kedro_azureml_mlflow.pipeline_jobs.params import from_literal, nested
from kedro_azureml_mlflow.pipeline_jobs.plan import INPUT_FROM
from kedro_azureml_mlflow.pipeline_jobs.rollup import finish_step
from kedro_azureml_mlflow.pipeline_jobs.step_inputs import STDIN_OPTION, read_inputs
from kedro_azureml_mlflow.tracking.plan.child_runs import STEP_ENV


def routes(spec: dict[str, Any], inputs: dict[str, str], output: Path) -> dict[str, dict[str, str]]:
    """Dataset → kind and the path it is read from (an input folder) or written to (the output folder)."""
    routed = {
        dataset: {"kind": kind, "path": str(Path(inputs[input_name]) / relative)}
        for dataset, kind, relative, input_name in spec["reads"]
    }
    routed.update(
        {dataset: {"kind": kind, "path": str(output / relative)} for dataset, kind, relative in spec["writes"]}
    )
    return routed


def runtime_params(spec: dict[str, Any], inputs: dict[str, str]) -> dict[str, Any]:
    return nested({key: from_literal(type_, inputs[input_name]) for key, type_, input_name in spec["params"]})


def run_step(spec: dict[str, Any], inputs: dict[str, str], output: Path, project_path: Path) -> None:
    """Run the step's nodes in a Kedro session of the project, as ``kedro run --nodes`` does."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project
    from kedro.utils import load_obj

    output.mkdir(parents=True, exist_ok=True)
    os.environ[STEP_DATA_ENV] = json.dumps(routes(spec, inputs, output))
    os.environ[STEP_ENV] = json.dumps({"step": spec["step"], "nodes": spec["nodes"]})
    bootstrap_project(project_path)
    runner = load_obj(spec["runner"], "kedro.runner")()
    lineage = read_lineage(Path(path) for name, path in inputs.items() if name.startswith(INPUT_FROM))
    session: Any
    succeeded = False
    try:
        with KedroSession.create(
            project_path=project_path, env=spec["env"], runtime_params=runtime_params(spec, inputs)
        ) as session:
            session.run(**_pipeline_argument(session, spec["pipeline"]), node_names=spec["nodes"], runner=runner)
        succeeded = True
        write_lineage(output, spec["step"], lineage)
    finally:
        finish_step(spec["step"], spec["nodes"], succeeded, lineage)


def _pipeline_argument(session: Any, pipeline: str) -> dict[str, Any]:
    """``pipeline_names`` where this Kedro has it (1.2+ deprecates ``pipeline_name``)."""
    import inspect

    has_names = "pipeline_names" in inspect.signature(session.run).parameters
    return {"pipeline_names": [pipeline]} if has_names else {"pipeline_name": pipeline}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="step_main", description=__doc__)
    parser.add_argument("--spec", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument(STDIN_OPTION, action="store_true", help="read the inputs' values from standard input")
    args = parser.parse_args(argv)
    inputs = read_inputs(sys.stdin.read()) if args.inputs_on_stdin else {}
    run_step(json.loads(args.spec), inputs, Path(args.output), Path.cwd())


if __name__ == "__main__":
    main()
