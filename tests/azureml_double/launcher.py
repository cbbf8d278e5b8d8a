"""Start / stop the whole double (mlflow server + Azurite + fake control plane) and talk to it.

:class:`AzureMLDouble` is what the pytest fixtures hand to tests. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.azureml_double.certs import generate_tls_files
from tests.azureml_double.credentials import TENANT_ID, FakeTokenCredential
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


class DoubleStartError(RuntimeError):
    pass


def _stop_group(proc: subprocess.Popen | None, timeout: float = 5.0) -> None:
    """Stop the process group led by ``proc`` (started with ``start_new_session=True``)."""
    if proc is None:
        return
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    # the leader exited; make sure nothing of its group survives (uvicorn workers, node children...)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


@dataclass
class _Proc:
    name: str
    proc: subprocess.Popen
    log: Path


class AzureMLDouble:
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
        self._procs: list[_Proc] = []
        self.msi_secret = uuid.uuid4().hex
        self.client_secret = "double-client-secret-" + uuid.uuid4().hex[:8]
        self.client_id = "00000000-0000-0000-0000-00000000c11e"
        self.start_seconds: float | None = None
        self.start_timings: dict[str, float] = {}  # seconds from start() until each piece was ready

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 180.0) -> AzureMLDouble:
        t0 = time.monotonic()
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
        wd = self.workdir
        wd.mkdir(parents=True, exist_ok=True)
        (wd / "logs").mkdir(exist_ok=True)
        tls = generate_tls_files(wd / "tls")
        self.ca_bundle = wd / "tls" / "ca-bundle.pem"
        try:
            import certifi

            base_bundle = Path(certifi.where()).read_text()
        except ImportError:  # pragma: no cover
            base_bundle = ""
        self.ca_bundle.write_text(base_bundle.rstrip() + "\n" + tls.ca_cert.read_text())

        mlflow_port, azurite_port = free_port(), free_port()
        self.mlflow_url = f"http://127.0.0.1:{mlflow_port}"
        self.azurite_blob_endpoint = f"http://127.0.0.1:{azurite_port}/devstoreaccount1"
        mlflow_db = wd / "mlflow" / "mlflow.db"
        mlflow_db.parent.mkdir(parents=True, exist_ok=True)
        (wd / "azurite").mkdir(exist_ok=True)
        template = self._mlflow_db_template()
        if template is not None and template.exists():
            shutil.copyfile(template, mlflow_db)

        base_env = dict(os.environ)
        base_env.update(
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
            base_env.pop(key, None)

        # 1. the real mlflow server (slowest: start first)
        mlflow_bin = VENV_BIN / "mlflow"
        self._spawn(
            "mlflow",
            [
                str(mlflow_bin) if mlflow_bin.exists() else "mlflow",
                "server",
                "--backend-store-uri",
                f"sqlite:///{mlflow_db}",
                "--artifacts-destination",
                str(wd / "mlflow" / "artifacts"),
                "--host",
                "127.0.0.1",
                "--port",
                str(mlflow_port),
                "--workers",
                "1",
            ],
            env=base_env,
            cwd=wd / "mlflow",
        )
        # 2. Azurite (blob only)
        self._spawn(
            "azurite",
            [
                "node",
                str(AZURITE_MAIN),
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                str(azurite_port),
                "--location",
                str(wd / "azurite"),
                "--disableTelemetry",
                "--skipApiVersionCheck",
                "--loose",
                "--silent",
            ],
            env=base_env,
            cwd=wd / "azurite",
        )
        # 3. the fake control plane
        ready_file = wd / "control-plane.ready.json"
        config = {
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
            "scratch_dir": str(wd / "compute"),
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
        server_env = dict(base_env)
        server_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), base_env.get("PYTHONPATH")]))
        server_env["PATH"] = os.pathsep.join([str(VENV_BIN), base_env.get("PATH", "")])
        config_path = wd / "control-plane.json"
        config_path.write_text(json.dumps(config, indent=2))
        self._spawn(
            "control-plane",
            [sys.executable, "-m", "tests.azureml_double", str(config_path)],
            env=server_env,
            cwd=REPO_ROOT,
        )

        deadline = time.monotonic() + timeout
        try:
            info = self._wait_for(
                lambda: json.loads(ready_file.read_text()) if ready_file.exists() else None, "control-plane", deadline
            )
            self.start_timings["control-plane"] = time.monotonic() - t0
            self.base_url = info["base_url"]
            self._wait_for(lambda: self._tcp_ok(azurite_port), "azurite", deadline)
            self.start_timings["azurite"] = time.monotonic() - t0
            self._wait_for(lambda: self._http_ok(f"{self.mlflow_url}/health"), "mlflow", deadline)
            self.start_timings["mlflow"] = time.monotonic() - t0
            if template is not None and not template.exists():
                self._save_template(mlflow_db, template)
        except BaseException:
            self.stop()
            raise
        host = self.base_url.split("://", 1)[1]
        self.tracking_uri = f"azureml://{host}/mlflow/v2.0{self.workspace_scope}"
        self._post("/_double/job-env", self._job_env_template())
        self.start_seconds = time.monotonic() - t0
        return self

    def _mlflow_db_template(self) -> Path | None:
        if self.cache_dir is None:
            return None
        try:
            from importlib.metadata import version

            mlflow_version = version("mlflow")
        except Exception:  # noqa: BLE001 - no cached empty db then: the server makes its own
            return None
        return self.cache_dir / f"mlflow-{mlflow_version}-empty.db"

    @staticmethod
    def _save_template(db: Path, template: Path) -> None:
        import sqlite3

        template.parent.mkdir(parents=True, exist_ok=True)
        tmp = template.with_suffix(f".{os.getpid()}.tmp")
        src = sqlite3.connect(db)
        dst = sqlite3.connect(tmp)
        try:
            if src.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0:  # still pristine
                src.backup(dst)
        finally:
            src.close()
            dst.close()
        if tmp.stat().st_size:
            os.replace(tmp, template)
        else:
            tmp.unlink()

    def stop(self, grace: float = 3.0) -> None:
        """SIGTERM every process group at once, SIGKILL what is left after ``grace`` seconds."""
        procs = [p.proc for p in self._procs]
        for proc in procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(max(0.0, deadline - time.monotonic()))
        for proc in procs:
            _stop_group(proc, timeout=0)  # SIGKILLs the group if anything of it survived
        self._procs.clear()

    def __enter__(self) -> AzureMLDouble:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _spawn(self, name: str, argv: list[str], env: dict, cwd: Path) -> None:
        log = self.workdir / "logs" / f"{name}.log"
        with open(log, "ab") as fh:  # the child keeps its own copy of the descriptor
            proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=fh,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._procs.append(_Proc(name, proc, log))

    def _wait_for(self, probe, name: str, deadline: float):
        proc = next(p for p in self._procs if p.name == name)
        while True:
            try:
                result = probe()
            except Exception:  # noqa: BLE001 - not ready yet; the deadline decides when to give up
                result = None
            if result:
                return result
            if proc.proc.poll() is not None:
                raise DoubleStartError(
                    f"{name} exited with {proc.proc.returncode} during start-up; log {proc.log}:\n"
                    + proc.log.read_text(errors="replace")[-3000:]
                )
            if time.monotonic() > deadline:
                raise DoubleStartError(
                    f"{name} not ready in time; log {proc.log}:\n" + proc.log.read_text(errors="replace")[-3000:]
                )
            time.sleep(0.05)

    @staticmethod
    def _tcp_ok(port: int) -> bool:
        with socket.socket() as s:
            s.settimeout(0.5)
            return s.connect_ex(("127.0.0.1", port)) == 0

    @staticmethod
    def _http_ok(url: str) -> bool:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200

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
        from tests.azureml_double.compute import SYSTEM_PATH

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

        from tests.azureml_double.compute import AZURITE_ACCOUNT, AZURITE_KEY

        return BlobServiceClient(
            self.azurite_blob_endpoint, credential={"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY}
        )

    # ------------------------------------------------------------------ test-only endpoints
    def _call(self, method: str, path: str, body: Any = None) -> Any:
        import ssl

        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers={"Content-Type": "application/json"} if data else {}
        )
        if getattr(self, "_ssl_ctx", None) is None:
            self._ssl_ctx = ssl.create_default_context(cafile=str(self.ca_bundle))
        with urllib.request.urlopen(req, context=self._ssl_ctx, timeout=30) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def _post(self, path: str, body: Any = None) -> Any:
        return self._call("POST", path, body if body is not None else {})

    def requests(self, since: int = 0, path_contains: str | None = None, method: str | None = None) -> list[dict]:
        """Recorded requests ``{seq, time, method, path, query, status, duration_ms, request_bytes, aud, token_exp
        [, fault][, headers, body]}`` (``headers``/``body`` with ``settings(record_bodies=True)``),
        oldest first (test-only endpoints excluded). Filter by substring of the path and/or method. ``path`` is
        the decoded path without the query (``/mferp/managementfrontend`` stripped), ``aud`` the bearer token's
        audience (None without a JWT)."""
        items = self._call("GET", f"/_double/requests?since={since}")["requests"]
        if path_contains is not None:
            items = [r for r in items if path_contains in r["path"]]
        if method is not None:
            items = [r for r in items if r["method"] == method.upper()]
        return items

    def mlflow_requests(self, since: int = 0) -> list[dict]:
        """Recorded MLflow calls (under the workspace's ``/mlflow/v2.0/...`` prefix)."""
        return [r for r in self.requests(since) if r["path"].startswith("/mlflow/v2.0/")]

    def last_seq(self) -> int:
        items = self.requests()
        return items[-1]["seq"] if items else 0

    def reset(self, state: bool = False) -> None:
        """Clear the request log and all faults, restore default settings; ``state=True`` also cancels and
        forgets jobs, code assets and environments (MLflow data and blobs are kept)."""
        self._post("/_double/reset", {"state": state})

    def settings(self, **values: Any) -> dict:
        """Switch double behaviours for the rest of the test (``reset()`` / the fixture restore defaults):
        ``azure_limits=False`` lets through what Azure ML's MLflow rejects (>250 metrics per log-batch,
        >200 params per run, ordering by metrics/params/tags, OR filters, experiment renames);
        ``record_bodies=True`` keeps every request's headers and body in :meth:`requests`;
        ``token_lifetime_seconds`` (3600) is how long tokens from the identity endpoints live, and a token
        expired longer ago than ``token_clock_skew_seconds`` (300) gets Azure's 401 ``ExpiredAuthenticationToken``."""
        return self._post("/_double/settings", values)

    def inject_http_fault(
        self, path_regex: str, status: int = 429, count: int = 1, method: str = "*", retry_after: float | int | None = 1
    ) -> None:
        """Answer the next ``count`` requests whose path (or ``path?query``) matches ``path_regex`` (``re.search``) with
        ``status`` (429 / 500 / 503...) and an Azure error body; ``Retry-After`` if not None."""
        self._post(
            "/_double/faults",
            {
                "kind": "http",
                "path": path_regex,
                "status": status,
                "count": count,
                "method": method,
                "retry_after": retry_after,
            },
        )

    def mlflow_down(self, seconds: float | None = None, mode: str = "503") -> None:
        """Make the MLflow proxy fail for ``seconds`` (None: until :meth:`clear_faults`). ``mode="503"``
        answers 503 + Retry-After; ``mode="reset"`` drops the connection without a reply."""
        self._post("/_double/faults", {"kind": "mlflow_down", "seconds": seconds, "mode": mode})

    def fail_next_job(self, count: int = 1, message: str | None = None) -> None:
        """The next ``count`` submitted jobs fail (the command is not run)."""
        self._post("/_double/faults", {"kind": "fail_next_job", "count": count, "message": message})

    def clear_faults(self) -> None:
        self._call("DELETE", "/_double/faults")

    def faults(self) -> dict:
        return self._call("GET", "/_double/faults")

    def jobs(self) -> list[dict]:
        """Emulated-compute internals of every job (see :meth:`job_info`)."""
        return self._call("GET", "/_double/jobs")["jobs"]

    def force_job_status(self, name: str, status: str | None) -> dict:
        """Make the APIs report ``status`` for job ``name`` (any Azure ML job status; None: its own again)."""
        return self._post(f"/_double/jobs/{name}/status", {"status": status})

    def job_info(self, name: str) -> dict:
        """Emulated-compute internals of a job: pid, process_alive, exit_code, scratch_dir, mlflow_run_id..."""
        return self._call("GET", f"/_double/jobs/{name}")

    def wait_for_job(
        self, name: str, timeout: float = 120.0, statuses: tuple[str, ...] = ("Completed", "Failed", "Canceled")
    ) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            info = self.job_info(name)
            if info["status"] in statuses:
                return info
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {name} still {info['status']} after {timeout}s")
            time.sleep(0.05)

    def job_log(self, name: str) -> str:
        path = self.job_info(name)["log_path"]
        return Path(path).read_text(errors="replace") if path else ""


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
