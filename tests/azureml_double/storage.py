"""Azurite, the blob storage behind the double: upload containers, SAS URIs, code snapshots, the HTTPS front."""

from __future__ import annotations

import contextlib
import http.client
import urllib.parse
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.azureml_double.routing import utcnow

AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's documented, public development-storage key (not a secret).
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


class Storage:
    def __init__(self, blob_endpoint: str) -> None:
        from azure.storage.blob import BlobServiceClient

        self.blob_endpoint = blob_endpoint.rstrip("/")  # http://127.0.0.1:P/devstoreaccount1
        self.service = BlobServiceClient(
            account_url=self.blob_endpoint, credential={"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY}
        )

    def container_sas(self, container: str, hours: int = 24) -> str:
        from azure.storage.blob import ContainerSasPermissions, generate_container_sas

        return generate_container_sas(
            AZURITE_ACCOUNT,
            container,
            account_key=AZURITE_KEY,
            permission=ContainerSasPermissions(read=True, write=True, delete=True, list=True, add=True, create=True),
            expiry=utcnow() + timedelta(hours=hours),
            start=utcnow() - timedelta(minutes=5),
        )

    def new_upload_container(self, prefix: str) -> tuple[str, str]:
        """Like Azure's ``TemporaryBlobReference``: a fresh container and a SAS URI for it."""
        container = f"{prefix}-{uuid.uuid4().hex}"
        self.service.create_container(container)
        blob_uri = f"{self.blob_endpoint}/{container}"
        return blob_uri, f"{blob_uri}?{self.container_sas(container)}"

    def upload_file(self, container: str, blob: str, path: Path) -> None:
        self.ensure_container(container)
        with open(path, "rb") as fh:
            self.service.get_blob_client(container, blob).upload_blob(fh, overwrite=True)

    def ensure_container(self, container: str) -> None:
        from azure.core.exceptions import ResourceExistsError

        with contextlib.suppress(ResourceExistsError):
            self.service.create_container(container)

    def blob_sas(self, container: str, blob: str, hours: int = 24) -> str:
        from azure.storage.blob import BlobSasPermissions, generate_blob_sas

        return generate_blob_sas(
            AZURITE_ACCOUNT,
            container,
            blob,
            account_key=AZURITE_KEY,
            permission=BlobSasPermissions(read=True, write=True, create=True, add=True),
            expiry=utcnow() + timedelta(hours=hours),
            start=utcnow() - timedelta(minutes=5),
        )

    def https_blob_sas_url(self, base_url: str, container: str, blob: str) -> str:
        """A SAS URL through the control plane's HTTPS blob front (shaped like a real storage URL)."""
        quoted = urllib.parse.quote(blob)
        return f"{base_url}/_blob/{AZURITE_ACCOUNT}.blob.core.windows.net/{container}/{quoted}?" + self.blob_sas(
            container, blob
        )

    def forward(self, method: str, target: str, body: bytes, headers: Any) -> tuple[int, bytes, dict]:
        """Forward one blob REST call to Azurite, verbatim (used by the HTTPS blob front)."""
        parsed = urllib.parse.urlsplit(self.blob_endpoint)
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=120)
        skip = {"host", "connection", "content-length", "transfer-encoding", "keep-alive", "authorization"}
        out_headers = {k: v for k, v in headers.items() if k.lower() not in skip}
        try:
            conn.request(method, target, body=body if body or method in ("PUT", "POST") else None, headers=out_headers)
            resp = conn.getresponse()
            data = resp.read()
            dropped = ("transfer-encoding", "connection", "keep-alive", "server", "date")
            if method != "HEAD":
                dropped += ("content-length",)
            reply = {k: v for k, v in resp.getheaders() if k.lower() not in dropped}
            return resp.status, data, reply
        finally:
            conn.close()

    def split_uri(self, uri: str) -> tuple[str, str]:
        """(container, prefix) of a blob URI in any of the shapes the SDK produces."""
        parsed = urllib.parse.urlsplit(uri.split("?", maxsplit=1)[0])
        parts = [p for p in parsed.path.split("/") if p]
        if parts and parts[0] == AZURITE_ACCOUNT:
            parts = parts[1:]
        if not parts:
            raise ValueError(f"no container in blob uri {uri!r}")
        return parts[0], "/".join(parts[1:])

    def download_prefix(self, container: str, prefix: str, dest: Path) -> int:
        cc = self.service.get_container_client(container)
        prefix = prefix.strip("/")
        count = 0
        for blob in cc.list_blobs(name_starts_with=prefix + "/" if prefix else None):
            rel = blob.name[len(prefix) :].lstrip("/") if prefix else blob.name
            if not rel or rel.endswith("/"):
                continue
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "wb") as fh:
                cc.download_blob(blob.name).readinto(fh)
            count += 1
        if count == 0:  # a single-file code asset: the prefix is the blob itself
            bc = cc.get_blob_client(prefix)
            if bc.exists():
                target = dest / Path(prefix).name
                with open(target, "wb") as fh:
                    bc.download_blob().readinto(fh)
                count = 1
        return count
