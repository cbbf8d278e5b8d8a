"""Redaction seen from a fresh interpreter's logging."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from kedro_azureml_mlflow.core.redaction import REDACTED


def test_every_log_record_of_the_process_is_masked_once_a_run_is_active() -> None:
    """In a fresh interpreter: MLflow's logger has its own handler, and it is masked too."""
    script = textwrap.dedent(
        """
        import logging, sys
        from kedro_azureml_mlflow.core.redaction import activate
        activate(["*password*"], "http://bob:sk-uri-4242@127.0.0.1:9")
        own = logging.getLogger("mlflow.store")
        own.propagate = False
        own.addHandler(logging.StreamHandler(sys.stdout))
        own.warning("API request to %s failed", "http://bob:sk-uri-4242@127.0.0.1:9/api/2.0")
        logging.basicConfig(stream=sys.stdout)
        logging.getLogger("anything").warning("password was sk-uri-4242")
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert "sk-uri-4242" not in result.stdout + result.stderr
    assert result.stdout.count(REDACTED) == 2, result.stdout
