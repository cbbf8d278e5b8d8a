"""The tracking agent process's server (its entry point is ``__main__``; ``launcher`` starts it).

It owns the MLflow side of every ``kedro run`` of one Python environment and user, whatever the
project (each run says what it needs of its project: ``SessionSpec``): it imports MLflow (so the
pipeline never has to), realises the target, opens the run, batches, sends and journals. It
serves one connection per pipeline process and per ParallelRunner worker, each on a thread of
its own, and exits when it has been idle for ``keep_alive`` seconds (at once after its run when
reuse is off), when the plugin's or MLflow's installed files have changed under it, or when
``kedro azureml agent stop`` asks it to (once no run is being served).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import threading
import time
from multiprocessing.connection import Connection, Listener
from typing import Any

from kedro_azureml_mlflow.tracking.agent.session import AgentSession, Reply
from kedro_azureml_mlflow.tracking.agent.store_watch import StoreWatch
from kedro_azureml_mlflow.tracking.pipeline_side.launcher import installed_stamp
from kedro_azureml_mlflow.tracking.plan.target import TargetSpec, TrackingTarget
from kedro_azureml_mlflow.tracking.wire.channel import Endpoint, connect, receive, remove_key_if_ours, send
from kedro_azureml_mlflow.tracking.wire.protocol import (
    AgentStatus,
    AskRun,
    AskStatus,
    EndRun,
    HandRecord,
    Join,
    OpenRun,
    OpenSession,
    SessionSpec,
    StopAgent,
    ToAgent,
    ToPipeline,
    to_agent,
)
from kedro_azureml_mlflow.tracking.wire.records import to_wire

logger = logging.getLogger(__name__)

_FIRST_CONNECTION_GRACE = 60.0  # a per-run agent waits this long for its pipeline to connect
_TICK = 0.5
_JOIN_WAIT = 30.0
_STAMP_EVERY = 30.0


class Agent:
    """Accepts connections and routes their messages to sessions; decides when to exit."""

    def __init__(self, listener: Listener, endpoint: Endpoint, keep_alive: float) -> None:
        self._listener = listener
        self._endpoint = endpoint
        self._authkey = endpoint.authkey()
        self._keep_alive = keep_alive
        self._stamp = installed_stamp()
        self._lock = threading.Condition()
        self._sessions: dict[str, AgentSession] = {}
        self._connections = 0
        self._served = False
        self._sessions_served = 0
        self._last_busy = time.monotonic()
        self._stopping = False
        self._stop_asked = False
        self._started_ms = int(time.time() * 1000)
        self._projects: dict[str, None] = {}  # every project served, the most recent last
        self._workspaces: dict[str, Any] = {}
        self._stores = StoreWatch()

    def serve(self) -> None:
        """Accept connections until told to stop; then remove this agent's socket and key (SIGTERM too)."""
        threading.Thread(target=self._housekeeping, name="housekeeping", daemon=True).start()
        try:
            self._accept_until_stopped()
        finally:
            self._listener.close()  # removes the socket file
            remove_key_if_ours(self._endpoint, self._authkey)

    def _accept_until_stopped(self) -> None:
        while not self._stopping:
            try:
                conn = self._listener.accept()
            except (OSError, EOFError) as exc:  # a peer without the key, or one that hung up at once
                logger.warning("Refused a connection: %s", exc)
                continue
            if self._stopping:
                conn.close()
                break
            with self._lock:
                self._connections += 1
                self._served = True
            threading.Thread(target=self._serve_connection, args=(conn,), daemon=True).start()

    # --- one connection --------------------------------------------------------------------

    def _serve_connection(self, conn: Connection) -> None:
        write_lock = threading.Lock()

        def reply(message: ToPipeline) -> None:
            with write_lock, contextlib.suppress(OSError):  # a gone peer: the read side notices
                send(conn, to_wire(message))

        asked_only = False
        try:
            asked_only = self._dispatch(conn, reply)
        finally:
            conn.close()
            with self._lock:
                self._connections -= 1
                if not asked_only:  # `agent status` must not keep an idle agent alive
                    self._last_busy = time.monotonic()

    def _dispatch(self, conn: Connection, reply: Reply) -> bool:
        """Serve one connection's messages; ``True`` if it only asked for the agent's status (or stop)."""
        session: AgentSession | None = None
        owner = False
        while True:
            try:
                data = receive(conn)
            except (EOFError, OSError, ValueError):
                if owner and session is not None:
                    session.owner_gone()
                return False
            try:
                message = to_agent(data)
            except ValueError as exc:  # refused at the boundary; the connection goes on
                logger.warning("Refused a message that does not fit the protocol (%s)", exc)
                continue
            if isinstance(message, AskStatus | StopAgent) and session is None:
                reply(self._status(stop=isinstance(message, StopAgent)))
                return True  # one question per connection
            if isinstance(message, OpenSession):
                session, owner = self._open_session(message.spec, reply), True
            elif isinstance(message, Join):
                session = self._joined(message.session)
            elif session is None:
                logger.warning("A %s message for an unknown session", message.op)
            else:
                _route(session, message, reply)

    def _open_session(self, spec: SessionSpec, reply: Reply) -> AgentSession:
        session = AgentSession(spec, reply, self._realise, warm=self._sessions_served > 0, opened=self._stores.opened)
        with self._lock:
            if spec.keep_alive is not None and spec.keep_alive > 0:
                self._keep_alive = spec.keep_alive  # the latest run's setting, as if it had started this agent
            self._projects.pop(spec.project_path, None)
            self._projects[spec.project_path] = None
            self._sessions_served += 1
            self._sessions[session.spec.session_id] = session
            self._lock.notify_all()
        return session

    def _joined(self, session_id: str) -> AgentSession | None:
        """A worker's session; its owner may connect a moment after the worker does."""
        with self._lock:
            self._lock.wait_for(lambda: session_id in self._sessions, timeout=_JOIN_WAIT)
            return self._sessions.get(session_id)

    def _realise(self, spec: TargetSpec) -> TrackingTarget:
        """The target; a workspace (its credential, its tracking URI) is kept for later runs.

        A SQLite store kept from an earlier run is checked first: a deleted ``mlflow.db`` is made afresh.
        """
        self._stores.before_run(spec.tracking_uri)
        if spec.workspace is None:
            return spec.realise()
        key = json.dumps([spec.workspace, spec.credentials], sort_keys=True)
        with self._lock:
            workspace = self._workspaces.get(key) or spec.azure_workspace()
        target = spec.realise(workspace)  # may raise: then the workspace is not kept
        with self._lock:
            self._workspaces[key] = workspace
        return target

    def _status(self, stop: bool) -> AgentStatus:
        """What ``kedro azureml agent status`` shows; with ``stop``, the agent exits once no run is served."""
        with self._lock:
            if stop:
                self._stop_asked = True
                logger.info("Asked to stop; exits once no run is being served")
            running = sum(not session.finished for session in self._sessions.values())
            idle = 0.0 if running else time.monotonic() - self._last_busy
            return AgentStatus(
                pid=os.getpid(),
                python=sys.executable,
                prefix=sys.prefix,
                started_ms=self._started_ms,
                sessions_served=self._sessions_served,
                running=running,
                idle_seconds=idle,
                keep_alive=self._keep_alive,
                projects=list(reversed(self._projects)),
                memory_mib=resident_mib(),
                stopping=self._stop_asked,
            )

    # --- when to exit ----------------------------------------------------------------------

    def _housekeeping(self) -> None:
        checked = time.monotonic()
        while not self._stopping:
            time.sleep(_TICK)
            with self._lock:
                for session_id in [k for k, s in self._sessions.items() if s.finished]:
                    del self._sessions[session_id]
                busy = bool(self._sessions or self._connections)
                asked = self._stop_asked and not self._sessions  # its own connection may still be open
                if busy:
                    self._last_busy = time.monotonic()
                idle_for = time.monotonic() - self._last_busy
                limit = self._keep_alive if self._served else max(self._keep_alive, _FIRST_CONNECTION_GRACE)
            stale = False
            if not busy and time.monotonic() - checked >= _STAMP_EVERY:
                checked, stale = time.monotonic(), installed_stamp() != self._stamp
            if asked:
                self._stop("asked to stop")
            elif not busy and (idle_for >= limit or stale):
                self._stop("installed files changed" if stale else "idle")

    def _stop(self, why: str) -> None:
        logger.info("Tracking agent exits (%s)", why)
        self._stopping = True
        try:  # wake the accept() in the main thread
            connect(self._endpoint, 5.0).close()
        except (OSError, EOFError, TimeoutError, ValueError):
            remove_key_if_ours(self._endpoint, self._authkey)
            os._exit(0)


def resident_mib() -> float:
    """This process's resident memory in MiB (Linux: now; elsewhere: its peak, all the standard library tells)."""
    with contextlib.suppress(OSError, ValueError, IndexError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    try:
        import resource
    except ImportError:  # Windows
        return 0.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _route(session: AgentSession, message: ToAgent, reply: Reply) -> None:
    if isinstance(message, HandRecord):
        session.add(message.seq, message.record)
    elif isinstance(message, OpenRun):
        session.open_run(message.start)
    elif isinstance(message, EndRun):
        session.end(message.status, message.end_time_ms)
    elif isinstance(message, AskRun):
        session.ask_run(reply, message.step)
