"""Run artifacts (azureml-mlflow's artifact repository) and the HTTPS front for Azurite.

Run history's artifact API hands out SAS URIs into blob storage (Azurite, container ``azureml``, blobs
``ExperimentRun/dcid.<run>/<path>``); the listing is the blob listing. Azure SDKs recognise storage URLs by
shape (``https://<account>.blob.core.windows.net/...``): the blob front serves
``https://127.0.0.1:P/_blob/<account>.blob.core.windows.net/<container>/<blob>?<sas>`` by forwarding to Azurite
(``http://127.0.0.1:A/<account>/<container>/<blob>?<sas>``); the SAS decides, not the bearer."""

from __future__ import annotations

import urllib.parse
from typing import TYPE_CHECKING

from tests.azureml_double._http import HttpError, Request, azure_error
from tests.azureml_double.artifact_store import ARTIFACT_STORE_CONTAINER
from tests.azureml_double.routing import HISTORY, iso, router, utcnow
from tests.azureml_double.state import Workspace

if TYPE_CHECKING:
    from tests.azureml_double.server import Double


ARTIFACTS = HISTORY + r"/(?:experiments|experimentids)/(?P<exp>[^/]+)/runs/(?P<run>[^/]+)/artifacts"


def _artifact_blob(run: str, path: str) -> str:
    return f"ExperimentRun/dcid.{run}/{path.lstrip('/')}"


def _artifact_dto(run: str, path: str, created: str | None = None) -> dict:
    return {
        "artifactId": f"ExperimentRun/dcid.{run}/{path}",
        "origin": "ExperimentRun",
        "container": f"dcid.{run}",
        "path": path,
        "etag": None,
        "createdTime": created,
        "tags": {},
    }


def _content_info(d: Double, run: str, path: str) -> dict:
    return {
        "contentUri": d.compute.storage.https_blob_sas_url(
            d.base_url, ARTIFACT_STORE_CONTAINER, _artifact_blob(run, path)
        ),
        "origin": "ExperimentRun",
        "container": f"dcid.{run}",
        "path": path,
        "tags": {},
    }


def _list_artifacts(d: Double, run: str, prefix: str = "") -> list[dict]:
    base = _artifact_blob(run, "")
    cc = d.compute.storage.service.get_container_client(ARTIFACT_STORE_CONTAINER)
    if not cc.exists():
        return []
    out = []
    for blob in cc.list_blobs(name_starts_with=base + prefix.lstrip("/")):
        created = blob.creation_time.isoformat() if blob.creation_time else None
        out.append(_artifact_dto(run, blob.name[len(base) :], created))
    return out


@router.route("POST", ARTIFACTS + r"/batch/metadata")
def artifacts_batch_create(d: Double, req: Request, ws: Workspace, exp: str, run: str):
    d.compute.storage.ensure_container(ARTIFACT_STORE_CONTAINER)
    paths = [p["path"] for p in (req.json() or {}).get("paths", [])]
    return 200, {
        "artifacts": {p: _artifact_dto(run, p, iso(utcnow())) for p in paths},
        "artifactContentInformation": {p: _content_info(d, run, p) for p in paths},
        "errors": {},
    }


@router.route("GET", ARTIFACTS + r"(?:/path)?")
def artifacts_list(d: Double, req: Request, ws: Workspace, exp: str, run: str):
    return 200, {
        "value": _list_artifacts(d, run, req.query.get("path", "")),
        "continuationToken": None,
        "nextLink": None,
    }


@router.route("GET", ARTIFACTS + r"/(?P<what>contentinfo|metadata|artifacturi)")
def artifacts_content_info(d: Double, req: Request, ws: Workspace, exp: str, run: str, what: str):
    path = req.query.get("path", "")
    if not any(a["path"] == path for a in _list_artifacts(d, run, path)):
        raise HttpError(
            404,
            "UserError",
            f"Artifact {path} not found in run {run}",
            body=azure_error(
                "UserError", f"Could not find artifact '{path}' of run {run}", innerError={"code": "NotFound"}
            ),
        )
    if what == "metadata":
        return 200, _artifact_dto(run, path)
    if what == "artifacturi":
        return 200, {"uri": _content_info(d, run, path)["contentUri"]}
    return 200, _content_info(d, run, path)


@router.route("GET", ARTIFACTS + r"/prefix/contentinfo")
def artifacts_prefix_content_info(d: Double, req: Request, ws: Workspace, exp: str, run: str):
    items = _list_artifacts(d, run, req.query.get("path", ""))
    return 200, {
        "value": [_content_info(d, run, a["path"]) for a in items],
        "continuationToken": None,
        "nextLink": None,
    }


@router.route("*", r"/_blob/(?P<account>[^/.]+)\.blob\.core\.windows\.net(?P<rest>/.*)?", auth=False)
def blob_front(d: Double, req: Request, account: str, rest: str | None):
    target = urllib.parse.quote(f"/{account}{rest or '/'}") + (
        "?" + urllib.parse.urlencode(req.query) if req.query else ""
    )
    return d.compute.storage.forward(req.method, target, req.body, req.headers)
