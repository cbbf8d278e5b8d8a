"""Start / stop the whole double (mlflow server + Azurite + fake control plane) and talk to it.

:class:`AzureMLDouble` is what the pytest fixtures hand to tests. Everything listens on 127.0.0.1 only.
Its pieces: ``processes.py`` (start, wait, stop the children), ``mlflow_template.py`` (the empty store copied
instead of migrated), ``control_client.py`` (the test-only ``/_double/*`` API).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.azureml_double.certs import generate_tls_files
from tests.azureml_double.control_client import ControlClient
from tests.azureml_double.credentials import TENANT_ID, FakeTokenCredential
from tests.azureml_double.mlflow_template import save_template, template_path
from tests.azureml_double.processes import (
    Child,
    DoubleStartError,
    Reaper,
    http_ok,
    spawn,
    stop_all,
    tcp_ok,
    wait_until,
)
from tests.coverage_scope import unmeasured
from tests.ports import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
AZURITE_MAIN = REPO_ROOT / "node_modules" / "azurite" / "dist" / "src" / "blob" / "main.js"
VENV_BIN = Path(sys.executable).parent

DEFAULT_SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
DEFAULT_RESOURCE_GROUP = "rg-kedro-double"
DEFAULT_WORKSPACE = "ws-kedro-double"
DEFAULT_COMPUTES = ("cpu-cluster", "gpu-cluster")

# Env vars the Azure SDKs write into os.environ (or that we set for the test process) - restored by fixtures.
SDK_TOUCHED_ENV = (
    "AZUREML_CURRENT_CLOUD",
    "AZUREML_DEV_URL_MFE",
    "MLFLOW_TRACKING_URI",
    "MLFLOW_RUN_ID",
    "MLFLOW_EXPERIMENT_ID",
    "MLFLOW_EXPERIMENT_NAME",
    "MLFLOW_TRACKING_TOKEN",
)


class AzureMLDouble(ControlClient):
    """A running double. Attributes are plain values so tests can build configs from them."""

    subscription_id: str
    resource_group: str
    workspace_name: str
    base_url: str  # https://127.0.0.1:PORT (the fake ARM / MFE / data plane / identity)
    tracking_uri: str  # azureml://127.0.0.1:PORT/mlflow/v2.0/subscriptions/.../workspaces/<ws>
    mlflow_url: str  # http://127.0.0.1:PORT, the real mlflow server behind the proxy
    azurite_blob_endpoint: str  # http://127.0.0.1:PORT/devstoreaccount1
    ca_bundle: Path  # certifi's bundle + the throw-away test CA
    tenant_id: str
    computes: tuple[str, ...]

    def __init__(
        self,
        workdir: Path,
        *,
        subscription_id: str = DEFAULT_SUBSCRIPTION,
        resource_group: str = DEFAULT_RESOURCE_GROUP,
        workspace_name: str = DEFAULT_WORKSPACE,
        computes: tuple[str, ...] = DEFAULT_COMPUTES,
        port: int = 0,
        cache_dir: Path | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        self.subscription_id = subscription_id
        self.resource_group = resource_group
        self.workspace_name = workspace_name
        self.computes = tuple(computes)
        self.tenant_id = TENANT_ID
        self._port = port
        # A pre-migrated empty mlflow SQLite DB is kept here (keyed by mlflow version): creating the schema
        # takes ~10 s, copying it milliseconds.
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self._children: list[Child] = []
        self._reaper: Reaper | None = None  # kills the children if this process dies without stop()
        self.msi_secret = uuid.uuid4().hex
        self.client_secret = "double-client-secret-" + uuid.uuid4().hex[:8]
        self.client_id = "00000000-0000-0000-0000-00000000c11e"
        self.start_seconds: float | None = None
        self.start_timings: dict[str, float] = {}  # seconds from start() until each piece was ready

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 180.0) -> AzureMLDouble:
        t0 = time.monotonic()
        _check_prerequisites()
        wd = self.workdir
        wd.mkdir(parents=True, exist_ok=True)
        (wd / "logs").mkdir(exist_ok=True)
        tls = generate_tls_files(wd / "tls")
        self.ca_bundle = _write_ca_bundle(wd / "tls" / "ca-bundle.pem", tls.ca_cert)
        mlflow_port, azurite_port = free_port(), free_port()
        self.mlflow_url = f"http://127.0.0.1:{mlflow_port}"
        self.azurite_blob_endpoint = f"http://127.0.0.1:{azurite_port}/devstoreaccount1"
        mlflow_db = wd / "mlflow" / "mlflow.db"
        mlflow_db.parent.mkdir(parents=True, exist_ok=True)
        template = template_path(self.cache_dir)
        if template is not None and template.exists():
            shutil.copyfile(template, mlflow_db)
        env = _base_env()
        self._start_mlflow(mlflow_db, mlflow_port, env)  # the slowest: first
        self._start_azurite(azurite_port, env)
        ready_file = wd / "control-plane.ready.json"
        self._start_control_plane(self._control_plane_config(tls, ready_file, mlflow_db), env)
        deadline = time.monotonic() + timeout
        try:
            info = self._wait(
                "control-plane",
                lambda: json.loads(ready_file.read_text()) if ready_file.exists() else None,
                deadline,
                t0,
            )
            self.base_url = info["base_url"]
            self._wait("azurite", lambda: tcp_ok(azurite_port), deadline, t0)
            self._wait("mlflow", lambda: http_ok(f"{self.mlflow_url}/health"), deadline, t0)
            if template is not None and not template.exists():
                save_template(mlflow_db, template)
        except BaseException:
            self.stop()
            raise
        host = self.base_url.split("://", 1)[1]
        self.tracking_uri = f"azureml://{host}/mlflow/v2.0{self.workspace_scope}"
        self._post("/_double/job-env", self._job_env_template())
        self.start_seconds = time.monotonic() - t0
        return self

    def _start_mlflow(self, db: Path, port: int, env: dict[str, str]) -> None:
        mlflow_bin = VENV_BIN / "mlflow"
        argv = [str(mlflow_bin) if mlflow_bin.exists() else "mlflow", "server"]
        argv += ["--backend-store-uri", f"sqlite:///{db}", "--artifacts-destination", str(db.parent / "artifacts")]
        argv += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        self._spawn("mlflow", argv, env, db.parent)

    def _start_azurite(self, port: int, env: dict[str, str]) -> None:
        """Azurite, blob service only."""
        data = self.workdir / "azurite"
        data.mkdir(exist_ok=True)
        argv = ["node", str(AZURITE_MAIN), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", str(data)]
        argv += ["--disableTelemetry", "--skipApiVersionCheck", "--loose", "--silent"]
        self._spawn("azurite", argv, env, data)

    def _control_plane_config(self, tls: Any, ready_file: Path, mlflow_db: Path) -> dict[str, Any]:
        return {
            "tls_cert": str(tls.server_cert),
            "tls_key": str(tls.server_key),
            "port": self._port,
            "ready_file": str(ready_file),
            "tenant_id": self.tenant_id,
            "msi_secret": self.msi_secret,
            "log_sig": uuid.uuid4().hex,
            "mlflow_url": self.mlflow_url,
            "mlflow_db": str(mlflow_db),
            "azurite_blob_endpoint": self.azurite_blob_endpoint,
            "scratch_dir": str(self.workdir / "compute"),
            "workspaces": [
                {
                    "subscription_id": self.subscription_id,
                    "resource_group": self.resource_group,
                    "name": self.workspace_name,
                    "location": "eastus",
                    "computes": [{"name": c} for c in self.computes],
                }
            ],
        }

    def _start_control_plane(self, config: dict[str, Any], base_env: dict[str, str]) -> None:
        env = dict(base_env)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), base_env.get("PYTHONPATH")]))
        env["PATH"] = os.pathsep.join([str(VENV_BIN), base_env.get("PATH", "")])
        config_path = self.workdir / "control-plane.json"
        config_path.write_text(json.dumps(config, indent=2))
        self._spawn("control-plane", [sys.executable, "-m", "tests.azureml_double", str(config_path)], env, REPO_ROOT)

    def _spawn(self, name: str, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        if self._reaper is None:
            self._reaper = Reaper(self.workdir / "logs" / "reaper.log")
        child = spawn(name, argv, env, cwd, self.workdir / "logs" / f"{name}.log")
        self._children.append(child)
        self._reaper.watch(child.proc.pid)

    def _wait(self, name: str, probe: Any, deadline: float, t0: float) -> Any:
        """Wait until ``probe`` says child ``name`` is ready; record when (``start_timings``)."""
        result = wait_until(probe, next(c for c in self._children if c.name == name), deadline)
        self.start_timings[name] = time.monotonic() - t0
        return result

    def stop(self, grace: float = 3.0) -> None:
        """SIGTERM every process group at once, SIGKILL what is left after ``grace`` seconds."""
        stop_all(self._children, grace)
        self._children.clear()
        if self._reaper is not None:
            self._reaper.release()
            self._reaper = None

    def __enter__(self) -> AzureMLDouble:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def logs(self, name: str) -> str:
        """The stdout/stderr log of ``mlflow``, ``azurite`` or ``control-plane``."""
        return (self.workdir / "logs" / f"{name}.log").read_text(errors="replace")

    # ------------------------------------------------------------------ values
    @property
    def workspace_scope(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{self.workspace_name}"
        )

    @property
    def workspace_url(self) -> str:
        return self.base_url + self.workspace_scope

    @property
    def mlflow_prefix(self) -> str:
        """Path prefix azureml-mlflow uses for MLflow REST calls (``/mlflow/v2.0/subscriptions/.../<ws>``)."""
        return f"/mlflow/v2.0{self.workspace_scope}"

    @property
    def msi_endpoint(self) -> str:
        return f"{self.base_url}/_identity/msi/token"

    def _job_env_template(self) -> dict[str, str]:
        """What a job gets besides Azure ML's run variables: the job's interpreter first on a system PATH,
        the test CA and the compute's managed identity (no workspace variables: jobs get AZUREML_ARM_*)."""
        from tests.azureml_double.job_process import SYSTEM_PATH

        env = self.client_env(workspace=False)
        env.pop("AZURE_TOKEN_CREDENTIALS", None)  # not set on Azure ML compute
        env["PATH"] = os.pathsep.join([str(VENV_BIN), SYSTEM_PATH])
        return env

    def client_env(self, auth: str = "managed_identity", workspace: bool = True) -> dict[str, str]:
        """Environment variables that point a *separate process* (``kedro run``, ``python -c``...) using the
        real, unmodified SDKs at the double. Merge into ``os.environ`` for ``subprocess`` calls::

            subprocess.run([...], env={**os.environ, **double.client_env()})

        ``auth="managed_identity"`` (default): ``DefaultAzureCredential`` / ``ManagedIdentityCredential``
        get tokens from the double's Azure ML compute managed-identity endpoint (``MSI_ENDPOINT``/
        ``MSI_SECRET``, exactly what Azure ML compute injects); ``AZURE_TOKEN_CREDENTIALS`` restricts
        ``DefaultAzureCredential`` to that credential so it never probes the Azure CLI etc.
        ``auth="client_secret"``: ``EnvironmentCredential`` -> ``ClientSecretCredential`` (MSAL) against the
        double's OIDC discovery + ``/adfs/oauth2/v2.0/token`` through ``AZURE_AUTHORITY_HOST``; the tenant is
        ``adfs`` because MSAL only skips its instance discovery (a call to login.microsoftonline.com) for ADFS.
        ``workspace=True`` adds ``AZUREML_SUBSCRIPTION_ID`` / ``AZUREML_RESOURCE_GROUP`` /
        ``AZUREML_WORKSPACE_NAME`` (the plugin resolves the workspace from them when nothing else names one).
        """
        env = {
            # TLS: trust the throw-away test CA (requests / azure-core use REQUESTS_CA_BUNDLE, urllib SSL_CERT_FILE)
            "REQUESTS_CA_BUNDLE": str(self.ca_bundle),
            "SSL_CERT_FILE": str(self.ca_bundle),
            "CURL_CA_BUNDLE": str(self.ca_bundle),
            # azure-ai-ml: MLClient's ARM / MFE base URL
            "AZUREML_DEV_URL_MFE": self.base_url,
            # azure-ai-ml and azureml-mlflow: use the built-in public cloud definition (no metadata look-up)
            "AZUREML_CURRENT_CLOUD": "AzureCloud",
            # no sleeps in jobs.stream polling
            "AZUREML_RUN_POLLING_INTERVAL_MIN": "0",
            "AZUREML_RUN_POLLING_INTERVAL_MAX": "0",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "KEDRO_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "1",
            "AZURE_TENANT_ID": self.tenant_id,
        }
        if workspace:
            env.update(
                {
                    "AZUREML_SUBSCRIPTION_ID": self.subscription_id,
                    "AZUREML_RESOURCE_GROUP": self.resource_group,
                    "AZUREML_WORKSPACE_NAME": self.workspace_name,
                }
            )
        if auth == "managed_identity":
            env.update(
                {
                    "MSI_ENDPOINT": self.msi_endpoint,
                    "MSI_SECRET": self.msi_secret,
                    "AZURE_TOKEN_CREDENTIALS": "ManagedIdentityCredential",
                }
            )
        elif auth == "client_secret":
            env.update(
                {
                    "AZURE_AUTHORITY_HOST": self.base_url,
                    # MSAL (behind ClientSecretCredential) validates an unknown authority host with an instance
                    # discovery call to login.microsoftonline.com - except for ADFS authorities. Tenant "adfs" makes
                    # it read /adfs/.well-known/openid-configuration from the double instead.
                    "AZURE_TENANT_ID": "adfs",
                    "AZURE_CLIENT_ID": self.client_id,
                    "AZURE_CLIENT_SECRET": self.client_secret,
                    "AZURE_TOKEN_CREDENTIALS": "EnvironmentCredential",
                }
            )
        else:
            raise ValueError(f"auth must be 'managed_identity' or 'client_secret', not {auth!r}")
        return env

    def env(self, auth: str = "managed_identity", workspace: bool = True) -> dict[str, str]:
        """``os.environ`` without MLflow run / Azure credential variables, merged with :meth:`client_env`:
        a complete environment for ``subprocess.run(..., env=double.env())``."""
        out = dict(os.environ)
        for key in SDK_TOUCHED_ENV:
            out.pop(key, None)
        for key in (
            "MSI_ENDPOINT",
            "MSI_SECRET",
            "AZURE_CLIENT_ID",
            "AZURE_CLIENT_SECRET",
            "AZURE_AUTHORITY_HOST",
            "AZURE_TOKEN_CREDENTIALS",
            "IDENTITY_ENDPOINT",
            "IDENTITY_HEADER",
            "AZURE_TENANT_ID",
            "AZUREML_SUBSCRIPTION_ID",
            "AZUREML_RESOURCE_GROUP",
            "AZUREML_WORKSPACE_NAME",
            "AZUREML_ARM_SUBSCRIPTION",
            "AZUREML_ARM_RESOURCEGROUP",
            "AZUREML_ARM_WORKSPACE_NAME",
            "AZUREML_RUN_ID",
        ):
            out.pop(key, None)
        out.update(self.client_env(auth, workspace))
        return out

    # ------------------------------------------------------------------ SDK helpers (in-process)
    def credential(self) -> FakeTokenCredential:
        """A fake ``TokenCredential`` minting unsigned JWTs locally (aud = requested scope)."""
        return FakeTokenCredential(self.tenant_id)

    def ml_client(self, credential: Any = None, **kwargs: Any):
        """A real ``azure.ai.ml.MLClient`` bound to the double's workspace, with the fake credential unless one
        is given. The base URL is read from ``AZUREML_DEV_URL_MFE`` at construction: it is set (and the cloud
        variable the SDK writes restored) just for that, so this also works outside the ``azureml_double``
        fixture. Other calls (blob uploads, ``jobs.stream``'s log downloads) need the CA in
        ``REQUESTS_CA_BUNDLE``, which the fixture provides."""
        from azure.ai.ml import MLClient

        kwargs.setdefault("show_progress", False)
        kwargs.setdefault("enable_telemetry", False)
        with patched_environ({"AZUREML_DEV_URL_MFE": self.base_url, "AZUREML_CURRENT_CLOUD": "AzureCloud"}):
            return MLClient(
                credential=credential or self.credential(),
                subscription_id=self.subscription_id,
                resource_group_name=self.resource_group,
                workspace_name=self.workspace_name,
                **kwargs,
            )

    def blob_service(self):
        """An ``azure.storage.blob.BlobServiceClient`` for Azurite (account key auth)."""
        from azure.storage.blob import BlobServiceClient

        from tests.azureml_double.storage import AZURITE_ACCOUNT, AZURITE_KEY

        return BlobServiceClient(
            self.azurite_blob_endpoint, credential={"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY}
        )


@contextlib.contextmanager
def patched_environ(values: dict[str, str]) -> Iterator[None]:
    """Set env vars for the duration of the block and restore every key afterwards."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        restore_environ(saved)


def restore_environ(saved: dict[str, str | None]) -> None:
    """Put ``os.environ`` back as ``saved`` recorded it (``None``: the variable was not set)."""
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _check_prerequisites() -> None:
    if not AZURITE_MAIN.exists():
        raise DoubleStartError(
            f"Azurite is not installed ({AZURITE_MAIN} missing). Run `npm ci` in {REPO_ROOT} "
            "(Node.js >= 18) to install the pinned Azurite from package-lock.json."
        )
    if shutil.which("node") is None:
        raise DoubleStartError(
            "`node` is not on PATH: the Azure ML double needs Node.js >= 18 for Azurite "
            f"(then run `npm ci` in {REPO_ROOT})."
        )


def _write_ca_bundle(path: Path, ca_cert: Path) -> Path:
    """certifi's bundle plus the throw-away test CA (what clients of the double trust)."""
    try:
        import certifi

        base_bundle = Path(certifi.where()).read_text()
    except ImportError:  # pragma: no cover
        base_bundle = ""
    path.write_text(base_bundle.rstrip() + "\n" + ca_cert.read_text())
    return path


def _base_env() -> dict[str, str]:
    """The children's environment: this process's, telemetry off, no MLflow run or cloud of a test, and
    not measured by coverage (none of them runs the plugin; the jobs get their own environment)."""
    env = unmeasured(os.environ)
    env.update(
        {
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "KEDRO_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "1",
            "PYTHONUNBUFFERED": "1",
            # MLflow 3's server otherwise forks a job runner and eight huey consumers (~2 GB) that
            # serve its GenAI jobs, which no Azure ML tracking call uses.
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        }
    )
    for key in SDK_TOUCHED_ENV:
        env.pop(key, None)
    return env
