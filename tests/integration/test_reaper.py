"""The double's watcher (``tests/azureml_double/reaper.py``) kills what its parent started once the parent is
gone, however it went, and nothing else; after ``release`` it kills nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.azureml_double.processes import Reaper
from tests.azureml_double.reaper import start_time, watch
from tests.process_tree import descendants, ended
from tests.waiting import wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]

# A child whose own children stay below it: one in its session, one in a session of its own (as a job's
# processes are below the control plane).
NESTED = (
    "import subprocess, time; subprocess.Popen(['sleep', '600']); "
    "subprocess.Popen(['sleep', '600'], start_new_session=True); time.sleep(600)"
)
PARENT = textwrap.dedent(
    """
    import json, os, pathlib, sys
    from tests.azureml_double.processes import Reaper, spawn

    work = pathlib.Path(sys.argv[1])
    reaper = Reaper(work / "reaper.log")
    children = [
        spawn("sleeper", ["sleep", "600"], dict(os.environ), work, work / "sleeper.log"),
        spawn("nested", [sys.executable, "-c", sys.argv[2]], dict(os.environ), work, work / "nested.log"),
    ]
    for child in children:
        reaper.watch(child.proc.pid)
    print(json.dumps({"reaper": reaper.proc.pid}), flush=True)
    sys.stdin.read()  # until killed
    """
)


def test_a_killed_parent_leaves_none_of_its_children_nor_their_descendants(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(tmp_path), NESTED],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        reaper_pid = json.loads(parent.stdout.readline())["reaper"]  # type: ignore[union-attr]
        # the watcher, the sleeper, the nested python and its two sleeps
        below = wait_until(lambda: descendants(parent.pid, at_least=5), 60, "the parent's five processes")
        assert reaper_pid in below
        processes = {pid: start_time(pid) for pid in below}

        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(30)

        assert ended(processes, within=60) == {}
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(30)


def test_a_dropped_pipe_kills_and_a_release_does_not(tmp_path: Path) -> None:
    victims = [subprocess.Popen(["sleep", "600"], start_new_session=True) for _ in range(2)]
    try:
        released = Reaper(tmp_path / "released.log")
        released.watch(victims[0].pid)
        released.release()
        assert released.proc.returncode == 0
        assert victims[0].poll() is None, "a released watcher killed what it watched"

        dropped = Reaper(tmp_path / "dropped.log")
        dropped.watch(victims[1].pid)
        dropped.pipe.close()  # as the kernel does when the process holding it dies
        assert dropped.proc.wait(60) == 0
        assert victims[1].wait(60) == -signal.SIGKILL
        assert victims[0].poll() is None, "the watcher killed a process it was not told about"
    finally:
        for victim in victims:
            victim.kill()
            victim.wait(30)


def test_pids_written_before_the_parent_died_are_still_read(tmp_path: Path) -> None:
    # A watcher slow to start (a loaded machine) may first look after its parent is gone: what the parent
    # wrote is still in the pipe, and must not be dropped for want of a parent.
    sleeper = subprocess.Popen(["sleep", "600"])
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, f"{sleeper.pid}\n".encode())
        assert watch(read_end, parent=-1) == {sleeper.pid: start_time(sleeper.pid)}
    finally:
        os.close(read_end)
        os.close(write_end)
        sleeper.kill()
        sleeper.wait(30)
