"""``python -m kedro_azureml_mlflow.tracking.agent``: the tracking agent process (see ``agent``).

It listens first and says ``ready`` before importing anything heavy, so the pipeline can connect at
once; MLflow (and the store or SDK the target needs) is imported on a thread meanwhile.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import signal
import sys
import threading
from pathlib import Path

from kedro_azureml_mlflow.tracking.agent.agent_logging import bound_http_requests, configure_logging
from kedro_azureml_mlflow.tracking.wire.channel import Endpoint, claim_key, listen

logger = logging.getLogger(__name__)


def _preload(modules: list[str]) -> None:
    """Import MLflow (and the store the run will use) while the pipeline is still starting."""
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # the session imports what it needs again, and reports
            logger.exception("Could not preload %s", name)


def _exit_on_sigterm() -> None:
    """``kill`` (SIGTERM) ends the agent as an idle exit does: its socket and key are removed, not left behind."""

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(0)  # in the main thread, out of accept(): Agent.serve cleans up on the way out

    signal.signal(signal.SIGTERM, stop)


def main() -> None:
    settings = json.loads(sys.stdin.readline())
    configure_logging()
    bound_http_requests()
    endpoint = Endpoint(settings["endpoint"]["address"], Path(settings["endpoint"]["key_file"]))
    listener = listen(endpoint, endpoint.authkey())
    with contextlib.suppress(OSError):  # unclaimed, the key names its starter: its socket still shows it alive
        claim_key(endpoint)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    _exit_on_sigterm()
    threading.Thread(target=_preload, args=(settings["preload"],), name="preload", daemon=True).start()
    from kedro_azureml_mlflow.tracking.agent.server import Agent

    Agent(listener, endpoint, float(settings["keep_alive"])).serve()


if __name__ == "__main__":
    main()
