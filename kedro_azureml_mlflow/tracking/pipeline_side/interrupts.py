"""Notice a Ctrl-C during a tracked pipeline, whatever error it then surfaces as.

A Ctrl-C usually reaches the hooks as no error at all (``KeyboardInterrupt`` skips
``on_pipeline_error``; the link ends the run KILLED at exit). But node code or a library may turn
it into an error of its own (``except BaseException: raise RuntimeError(...)``), which Kedro
reports through ``on_pipeline_error``: the run must still end ``KILLED``, not ``FAILED``.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any


class InterruptWatch:
    """Chains a SIGINT handler in front of the current one (only in the main thread, where signals go)."""

    def __init__(self) -> None:
        self.seen = False
        self._previous: Any = None

    def start(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        previous = signal.getsignal(signal.SIGINT)
        if not callable(previous):
            return  # ignored, or the default action: Python never sees the Ctrl-C
        self._previous = previous

        def interrupted(signum: int, frame: FrameType | None) -> None:
            self.seen = True
            previous(signum, frame)

        signal.signal(signal.SIGINT, interrupted)

    def stop(self) -> None:
        """Put the previous handler back (once; a no-op if ``start`` chained nothing)."""
        previous, self._previous = self._previous, None
        if previous is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, previous)
