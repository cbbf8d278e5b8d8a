"""Replay's marks beside a journal (``<journal>.progress``), so that a replay killed anywhere resumes exactly once.

Before a record is sent, ``sending N`` is appended; once the server has taken it (or it is set
aside), ``done N``. A record whose ``sending`` has no ``done`` was *in flight* when the replaying
process died: the server may or may not hold it, so the next replay asks (``idempotency``) and
sends only what is missing. Creating a run is marked the same way (``creating`` with the key
tagged on the run, then ``run``), per target store, since ``--to`` may send a journal elsewhere.

Marks are one short append each; a mark cut short by a crash is ignored, which is safe because
every mark is written *before* the step it announces (``sending``, ``creating``) or after it
completed (``done``, ``run``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kedro_azureml_mlflow.tracking.journal.journal import PROGRESS_SUFFIX


@dataclass
class ReplayProgress:
    """What earlier replays of one journal did, and the file new marks go to."""

    path: Path
    done: set[int] = field(default_factory=set)
    last_sending: int | None = None
    runs: dict[str, str] = field(default_factory=dict)  # target -> run id
    creating: dict[str, str] = field(default_factory=dict)  # target -> run key, no answer seen

    uncertain: int | None = None  # the record in flight when the last replay stopped (fixed at load)

    @classmethod
    def load(cls, journal: Path) -> ReplayProgress:
        progress = cls(journal.with_name(journal.name + PROGRESS_SUFFIX))
        if progress.path.exists():
            for line in progress.path.read_text(encoding="utf-8").splitlines():
                try:
                    progress._apply(json.loads(line))
                except (ValueError, TypeError, KeyError):
                    continue  # the last mark, cut short by a crash
        if progress.last_sending not in progress.done:
            progress.uncertain = progress.last_sending
        return progress

    def in_flight(self, number: int) -> bool:
        """``number`` was being sent when an earlier replay stopped without hearing back."""
        return number == self.uncertain and number not in self.done

    def sending(self, number: int) -> None:
        self._mark({"sending": number})

    def finished(self, number: int) -> None:
        self._mark({"done": number})

    def creating_run(self, target: str, run_key: str) -> None:
        self._mark({"creating": run_key, "target": target})

    def run_created(self, target: str, run_id: str) -> None:
        self._mark({"run": run_id, "target": target})

    def _mark(self, mark: dict[str, Any]) -> None:
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(mark) + "\n")
        self._apply(mark)

    def _apply(self, mark: dict[str, Any]) -> None:
        if "sending" in mark:
            self.last_sending = int(mark["sending"])
        elif "done" in mark:
            self.done.add(int(mark["done"]))
        elif "creating" in mark:
            self.creating[str(mark["target"])] = str(mark["creating"])
        elif "run" in mark:
            self.runs[str(mark["target"])] = str(mark["run"])
            self.creating.pop(str(mark["target"]), None)
