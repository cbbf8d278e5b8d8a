"""A local, stateful stand-in for Azure Machine Learning, for tests only.

The *real* clients (``azure-ai-ml``, ``azure-identity``, ``azure-storage-blob``, ``azureml-mlflow`` +
``mlflow``) talk to it over the network, unmodified: no SDK internals are patched, only environment
variables and public constructor arguments are used.

Pieces (all on 127.0.0.1, started once per test session by ``fixtures.azureml_double_session``):

- **fake control plane** (``server.py`` and one ``routes_*.py`` per route family, its own process, HTTPS with
  a throw-away CA generated at test time by ``certs.py``): ARM/MFE workspace, computes, code assets,
  environments, jobs (+ cancel LRO), workspace discovery, run history (details + log files), identity
  endpoints, an MLflow proxy and test-only ``/_double/*`` endpoints (request log, reset, faults, job internals).
- **real ``mlflow server``** (SQLite, ``--workers 1``) behind the proxy: ``azureml://127.0.0.1:P/mlflow/v2.0/
  <workspace scope>`` is what ``workspaces.get(ws).mlflow_tracking_uri`` returns; azureml-mlflow turns it into
  ``https://127.0.0.1:P/mlflow/v2.0/<scope>/api/2.0/mlflow/...`` and the proxy strips the prefix.
- **a watcher** (``reaper.py``): kills all of the above, and the jobs' processes, if the test process dies
  without stopping the double (a timeout's SIGKILL), so nothing of it outlives the test run.
- **Azurite** (``node_modules/azurite``, pinned in ``package-lock.json``; ``npm ci`` installs it) for blob storage: code
  uploads go to SAS URIs the double hands out (``startPendingUpload``).
- **emulated compute** (``compute.py``; ``job.py``, ``job_process.py``, ``job_logs.py``): command jobs on a
  known compute (``cpu-cluster``, ``gpu-cluster``) really run locally with the environment Azure ML injects;
  MLflow run id == job name, as on Azure ML. The job's log is copied to ``workspaceartifactstore`` while it
  runs and once more in ``Finalizing`` (job GET and run history), before the job turns terminal.

What is emulated (relative to ``/subscriptions/{s}/resourceGroups/{rg}/providers/
Microsoft.MachineLearningServices/workspaces/{ws}``; ``/mferp/managementfrontend`` prefixes are accepted)::

    GET    {ws}                                       workspace (mlFlowTrackingUri, discoveryUrl); unknown -> 404
    GET    .../workspaces                             list
    GET    {ws}/computes[/{name}]                     computes; unknown -> 404 ResourceNotFound
    GET    {ws}/codes/{n}/versions?hash=..            code de-dup;  POST .../versions/{v}/startPendingUpload
    PUT|GET {ws}/codes/{n}/versions/{v}
    PUT|GET {ws}/environments/{n}/versions/{v}        + GET .../versions ($top), GET {ws}/environments[/{n}]
    PUT|GET {ws}/jobs/{n}, GET {ws}/jobs              command, pipeline and sweep jobs (others -> 400); a command job
                                                      has outputs.default (workspaceartifactstore, dcid.<n>)
    PUT|GET {ws}/components/{n}/versions/{v}          component versions; anonymous ones get a server GUID
                                                      (components.py)
    GET    /history/v1.0/{ws}/runs/{id}/children      a pipeline's steps (azureml.StepRun runs; routes_pipelines.py),
                                                      a sweep's trials (routes_sweeps.py)
    GET    {ws}/datastores[/{name}], POST .../listSecrets   workspaceblobstore, workspaceartifactstore (Azurite
                                                      containers; routes_datastores.py), an account SAS as secret
    POST   /history/v1.0/{ws}/rundata                 run metadata (jobs.download)
    POST   {ws}/jobs/{n}/cancel                       202 + Location -> GET .../mfeOperationResults/{op}
    GET    /discovery/workspaces/{id}                 discovery (api, history, ... -> the double)
    GET    /history/v1.0/{ws}/runs/{id}[/details]     run history (status, logFiles); log files at /_logs/...
    *      /mlflow/v2.0/{ws}/api/2.0/mlflow[-artifacts]/...   -> real mlflow server, with Azure ML's limits
                                                      (<=250 metrics per log-batch, <=200 params per run, no
                                                      ORDER BY metrics/params/tags, no OR, no experiment rename;
                                                      switch off with settings(azure_limits=False)) and artifact
                                                      URIs rewritten to azureml://.../experiments/<e>/runs/<r>/artifacts
    *      /mlflow/v2.0/{ws}/api/2.0/mlflow/logged-models[/...]   404 with an empty body, as Azure ML answers MLflow 3's
                                                      logged-models API (routes_models.py)
    *      .../registered-models/*, .../model-versions/*       the real mlflow server's registry (what ``azureml://``
                                                      clients register lands there), minus renaming a model and
                                                      deleting a whole model, which Azure ML does not support
    POST   /history/v1.0/{ws}/experiments/{e}/runs/{r}/artifacts/batch/metadata, GET .../artifacts[/path],
           .../artifacts/contentinfo|metadata|artifacturi, .../prefix/contentinfo
                                                      run artifacts (azureml-mlflow's artifact repository): SAS
                                                      URIs into Azurite container "azureml", ExperimentRun/dcid.<r>/
    *      /_blob/<account>.blob.core.windows.net/...  HTTPS front for Azurite (URLs shaped like real storage
                                                      URLs, which azureml-mlflow insists on for downloads)
    POST   /{tenant}/oauth2/v2.0/token, GET /{tenant}/v2.0/.well-known/openid-configuration,
    GET    /common/discovery/instance, GET /metadata/endpoints (ARM cloud metadata)
    GET    /_identity/msi/token                       managed identity (MSI_ENDPOINT / IDENTITY_ENDPOINT flavours)

    GET    /datastore/v1.0{ws}/datastores/{name}       the legacy datastore API azureml-fsspec (rslex) reads: account,
                                                      container and a SAS in one body (routes_data.py); listings of
                                                      ``/_blob`` are those of the real container (rslex takes ``_blob``
                                                      for the container of a ``127.0.0.1:P/_blob/...`` account);
                                                      rslex's writes (``put``) are plain blob PUTs through the front
    PUT|GET {ws}/data/{n}/versions/{v}, GET {ws}/data/{n}[/versions], GET {ws}/data
                                                      data assets as azure-ai-ml's data operations use them
                                                      (routes_data.py): ``latestVersion``/``nextVersion`` on the
                                                      container, a version's ``dataUri`` cannot change

Pipeline jobs (``routes_pipelines.py``, ``pipeline_jobs.py``, ``pipeline_runner.py``): command nodes run as steps,
each a child run on its own compute, in DAG order, data crossing them through ``workspaceblobstore``
(``azureml/<step run id>/<output>/``), with reuse, ``force_rerun``, ``continue_on_step_failure`` and cancel; what
they do not emulate is listed in docs/architecture.md ("Pipeline jobs").

Schedules (``routes_schedules.py``, ``schedules.py``): create/update (also disable/enable), list views and delete as
long-running operations (``mfeOperationsStatus``: first poll in progress, the next one the end), delete refused while
enabled, ``POST …/trigger`` starting the schedule's pipeline job (``runSource: Schedule``), and the test hook
``fire_schedule(name)``; what they do not emulate is listed in docs/architecture.md ("Schedules").

Sweep jobs (``routes_sweeps.py``, ``sweep_jobs.py``, ``sweep_runner.py``): PUT answers ``Running`` with the recorded
``_aml_system_*`` tags and HyperDrive properties; grid and random trials run as command jobs named ``<sweep>_<n>``,
child runs of the sweep's run, at most ``maxConcurrentTrials`` at once; the best trial is the sweep's
``best_child_run_id``; cancel cancels the running trials. What they do not emulate is listed in
docs/azureml-double.md ("Sweep jobs").

Not emulated: AutoML / Spark jobs, registries, the data plane's data asset API that rslex
reads for ``azureml://.../data/<n>/versions/<v>`` URIs (``/data/v1.0/.../dataversion``; the plugin resolves assets
with ``data.get`` instead), data asset archiving, ``MLTable`` validation, data asset ``dataUri`` normalisation (kept
as sent; the SDK sends the short ``azureml://datastores/...`` form and the plugin reads both), datastores other than
the two every workspace has (no create/delete), storage host names (a datastore's account is named
``127.0.0.1:<port>/_blob/devstoreaccount1`` so the SDK's ``https://{account}.blob.core.windows.net`` lands on the
double's blob front), the model registry's MFE side (``ml_client.models``: models registered through MLflow are
only visible through MLflow's API here) and the exact error bodies of its unsupported calls, online/batch
endpoints, named job outputs
(``${{outputs.x}}`` resolve to a local scratch folder; only ``default`` is in the artifact store), RBAC and
token signatures (any non-empty bearer token is accepted unless its ``exp`` has passed by more than
``token_clock_skew_seconds``; the ``aud`` and ``exp`` claims are recorded; see ``token_expiry.py``), image builds:
an environment version is validated as Azure would (``environment_rules.py``), and a job whose environment has a
conda file runs on an interpreter of its own (``job_python.py``: a venv holding exactly the conda file's packages
and their dependencies, linked from the test venv; a package nobody listed is a ``ModuleNotFoundError``, as on
Azure; a Python other than the double's ``major.minor``, or a package or version the test venv lacks, fails the
job as a failed image build: nothing is installed from an index, conda's own non-Python packages are ignored).
A job whose environment is an image alone, a Docker build context or a registry's runs on the test venv's
interpreter: the double cannot see into an image. ``job_info(name)`` has ``environment_id`` and ``python_bin``
(None: the test venv's). A job's environment is otherwise a clean one (HOME, LANG, PATH of the job's interpreter
and the system's, TMPDIR a short folder under /tmp as in a container, the test CA, the compute's managed
identity) plus what Azure ML
injects (``MLFLOW_*``, ``AZUREML_*`` incl. ``MLFLOW_TRACKING_TOKEN``, ``AZUREML_RUN_TOKEN``,
``AZUREML_WORKSPACE_SCOPE``/``AZUREML_EXPERIMENT_SCOPE``): nothing of the test process leaks in. Job statuses:
Starting -> Preparing -> Queued -> Running -> Finalizing -> Completed/Failed/Canceled; any other status
(NotResponding, Paused, Unknown...) only when a test forces it (``force_job_status``). ``instance_count: N``
runs N local processes (one per "node", ``processCountPerInstance`` ignored) with PyTorch's ``RANK``,
``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``, MPI's ``OMPI_COMM_WORLD_*`` or ``TF_CONFIG``; no real
rendezvous network. Not emulated either: the job ``limits``/timeouts, ``queueSettings``, heartbeats.

Test-facing API (``azureml_double`` fixture -> :class:`AzureMLDouble`)::

    subscription_id, resource_group, workspace_name, computes ("cpu-cluster", "gpu-cluster"), tenant_id
    base_url            https://127.0.0.1:P            workspace_url / workspace_scope / mlflow_prefix
    tracking_uri        azureml://127.0.0.1:P/mlflow/v2.0/<scope>   (what workspaces.get().mlflow_tracking_uri says)
    mlflow_url          http://127.0.0.1:M   the real mlflow server (read back with MlflowClient(mlflow_url))
    azurite_blob_endpoint, blob_service()   Azurite (account devstoreaccount1)
    ca_bundle           certifi + the test CA
    client_env(auth="managed_identity"|"client_secret", workspace=True) -> dict   env for subprocesses
    env(...)            os.environ (minus credential / MLflow-run variables) + client_env(...)
    credential()        FakeTokenCredential (unsigned JWT, aud = scope)     ml_client(credential=None, **kw)
    requests(since=0, path_contains=None, method=None), mlflow_requests(since=0), last_seq()
    reset(state=False), settings(azure_limits=..., record_bodies=..., token_lifetime_seconds=...,
                                 token_clock_skew_seconds=...)
    inject_http_fault(path_regex, status=429, count=1, method="*", retry_after=1)
    mlflow_down(seconds=None, mode="503"|"reset"), fail_next_job(count=1, message=None), clear_faults(), faults()
    job_info(name), jobs(), wait_for_job(name, timeout=120, statuses=(...)), job_log(name)
                        (a pipeline's job_info adds kind "pipeline", steps {node: step run id}, failed_nodes,
                        output_locations; a step's kind "step", pipeline, node, reused_from, output_locations),
    force_job_status(name, "NotResponding" | "Paused" | "Unknown" | ... | None),
    logs("mlflow"|"azurite"|"control-plane")

Pointing code at it:

- In the test process use the fixtures (``tests/azureml_double/fixtures.py``): ``azureml_double.ml_client()``,
  ``azureml_double.credential()``, ``azureml_double.tracking_uri`` ...
- In a subprocess (``kedro run``, ``python -c``), environment variables only:
  ``subprocess.run(..., env=azureml_double.env())`` (``os.environ`` + ``azureml_double.client_env()``):
  ``AZUREML_DEV_URL_MFE`` (MLClient base URL), ``AZUREML_CURRENT_CLOUD=AzureCloud``, ``REQUESTS_CA_BUNDLE``/
  ``SSL_CERT_FILE`` (the test CA), ``MSI_ENDPOINT``/``MSI_SECRET`` + ``AZURE_TOKEN_CREDENTIALS=
  ManagedIdentityCredential`` (so ``DefaultAzureCredential()`` gets tokens from the double; or
  ``client_env(auth="client_secret")``: ``AZURE_AUTHORITY_HOST``/``AZURE_CLIENT_ID``/``AZURE_CLIENT_SECRET``/
  ``AZURE_TENANT_ID`` for ``EnvironmentCredential``), ``AZUREML_SUBSCRIPTION_ID``/``AZUREML_RESOURCE_GROUP``/
  ``AZUREML_WORKSPACE_NAME``, ``AZUREML_RUN_POLLING_INTERVAL_MIN/MAX=0``, telemetry off.

Adding an endpoint in minutes (in the ``routes_*.py`` module of its family; a new family is a new module
listed in ``server.ROUTE_MODULES``)::

    @router.route("GET", WS + r"/datastores/(?P<name>[^/]+)")
    def get_datastore(d: Double, req: Request, ws: Workspace, name: str):
        if name not in KNOWN:
            raise HttpError(404, "ResourceNotFound", f"datastore {name} not found")
        return 200, {"id": f"{ws.arm_id}/datastores/{name}", "name": name, "properties": {...}}

``WS`` matches the workspace scope (the dispatcher resolves ``ws`` and answers Azure's 404 for unknown
workspaces), handlers return ``(status, body[, headers])``, requests are recorded and faults apply
automatically. Find the exact URL and JSON shapes in ``azure/ai/ml/_restclient/<api-version>/operations``
and ``models``, then point a real ``MLClient`` at the double and iterate: an unknown route answers
``404 "azureml double: no route for ..."`` and shows up in ``azureml_double.requests()``.
"""

from tests.azureml_double.credentials import FakeTokenCredential, unsigned_jwt
from tests.azureml_double.launcher import AzureMLDouble, DoubleStartError, patched_environ

__all__ = ["AzureMLDouble", "DoubleStartError", "FakeTokenCredential", "patched_environ", "unsigned_jwt"]
