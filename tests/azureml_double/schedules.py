"""Schedules as the double keeps them, their long-running operations, and the shapes Azure ML answers for them.

Each shape follows the recordings listed in ``tests/azure/test_double_conformance_schedules.py`` ([S1], [S2]):

- :class:`Schedule`: the ``properties`` the client sent, with ``isEnabled`` (default true), the job definition
  echoed with the service's additions (``status "NotStarted"``, ``experimentName "Default"`` when unset, ...)
  and ``provisioningState`` (``Creating`` until its operation has ended, then ``Succeeded``).
- :class:`Operation`: a create/update or delete LRO behind ``…/mfeOperationsStatus/s:<workspace id>:<op>``.
  Its first poll answers the in-progress status (``Creating`` / ``Deleting``), every later one the end
  (``Succeeded``, or ``Failed`` for the delete of an enabled schedule: "Cannot delete an active trigger").
  Counting polls, not seconds, keeps the double deterministic on a slow machine.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tests.azureml_double.routing import PROVIDER, iso, utcnow

# The service's additions to a job definition it echoes ([S1]: the 201 of the create).
JOB_DEFINITION_DEFAULTS = {
    "description": None,
    "status": "NotStarted",
    "experimentName": "Default",
    "services": None,
    "identity": None,
    "componentId": None,
    "notificationSetting": None,
    "secretsConfiguration": None,
    "sourceJobId": None,
}


def _echoed_job_definition(sent: dict[str, Any]) -> dict[str, Any]:
    job = {**JOB_DEFINITION_DEFAULTS, **copy.deepcopy(sent)}
    if job.get("experimentName") is None:
        job["experimentName"] = "Default"
    job["inputs"] = {key: {"description": None, **item} for key, item in (job.get("inputs") or {}).items()}
    return job


@dataclass
class Schedule:
    ws: Any
    name: str
    properties: dict[str, Any]
    created: datetime = field(default_factory=utcnow)
    modified: datetime = field(default_factory=utcnow)
    provisioning_state: str = "Creating"

    @classmethod
    def from_put(cls, ws: Any, name: str, body: dict[str, Any], existing: Schedule | None) -> Schedule:
        props = copy.deepcopy(body.get("properties") or {})
        props.pop("provisioningState", None)
        props.setdefault("isEnabled", True)
        action = props.get("action") or {}
        if "jobDefinition" in action:
            action["jobDefinition"] = _echoed_job_definition(action["jobDefinition"])
        created = existing.created if existing else utcnow()
        return cls(ws, name, props, created=created)

    @property
    def enabled(self) -> bool:
        return bool(self.properties.get("isEnabled"))

    @property
    def job_definition(self) -> dict[str, Any]:
        return dict((self.properties.get("action") or {}).get("jobDefinition") or {})

    @property
    def arm_id(self) -> str:
        return f"{self.ws.arm_id}/schedules/{self.name}"

    def rest_properties(self) -> dict[str, Any]:
        return {**self.properties, "provisioningState": self.provisioning_state}

    def to_rest(self) -> dict[str, Any]:
        """GET and list: ``id`` and ``name`` (as in 2026), ``properties``, ``systemData``; no ``type`` ([S2])."""
        system = {"createdAt": iso(self.created), "createdBy": "double@example.invalid", "createdByType": "User"}
        system.update(
            {
                "lastModifiedAt": iso(self.modified),
                "lastModifiedBy": "double@example.invalid",
                "lastModifiedByType": "User",
            }
        )
        return {"id": self.arm_id, "name": self.name, "properties": self.rest_properties(), "systemData": system}


@dataclass
class Operation:
    """One schedule LRO; ``kind`` is ``create`` (create/update, disable, enable) or ``delete``."""

    ws: Any
    schedule: str
    kind: str
    fails_with: str | None = None
    op_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    polls: int = 0
    started: datetime = field(default_factory=utcnow)
    ended: datetime | None = None

    @property
    def name(self) -> str:
        return f"s:{self.ws.workspace_id}:{self.op_id}"

    def url(self, base_url: str, family: str, api_version: str) -> str:
        return (
            f"{base_url}/subscriptions/{self.ws.subscription_id}/providers/{PROVIDER}/locations/{self.ws.location}"
            f"/{family}/{self.name}?api-version={api_version}"
        )

    @property
    def status(self) -> str:
        if self.ended is None:
            return "Creating" if self.kind == "create" else "Deleting"
        return "Failed" if self.fails_with else "Succeeded"

    def poll(self) -> bool:
        """Count a poll; True when this poll ends the operation (the caller applies its effect)."""
        self.polls += 1
        if self.polls < 2 or self.ended is not None:
            return False
        self.ended = utcnow()
        return True

    def to_rest(self) -> dict[str, Any]:
        scope = f"/subscriptions/{self.ws.subscription_id}/providers/{PROVIDER}/locations/{self.ws.location}"
        body: dict[str, Any] = {"id": f"{scope}/mfeOperationResults/{self.name}", "name": self.name}
        body["status"] = self.status
        if self.ended is not None:
            body.update({"startTime": iso(self.started), "endTime": iso(self.ended)})
        if self.ended is not None and self.fails_with:
            body["error"] = {"code": "UserError", "message": self.fails_with, "details": [], "additionalInfo": []}
        return body
