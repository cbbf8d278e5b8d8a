"""Copied into a scratch project by ``warm_timeline.py``: prints when each phase of a ``kedro run`` begins and ends.

Hook wrappers run around every implementation of a hook (the plugin's included), so ``before_pipeline_run``'s
span holds what the plugin does and waits for before the first node; ``after_pipeline_run``'s, what it waits
for after the last one. Each line is ``TIMELINE <event> <time.time()>`` on stderr (wall clock: comparable with
the proxy's and the agent log's timestamps, taken in other processes).
"""

import sys
import time

from kedro.framework.hooks import hook_impl


def mark(event: str) -> None:
    sys.stderr.write(f"TIMELINE {event} {time.time():.6f}\n")


class Timeline:
    def __init__(self) -> None:
        self._nodes = 0

    @hook_impl(hookwrapper=True)
    def after_context_created(self, context):  # type: ignore[no-untyped-def]
        mark("after_context_created.begin")
        yield
        mark("after_context_created.end")

    @hook_impl(hookwrapper=True)
    def before_pipeline_run(self, run_params, pipeline, catalog):  # type: ignore[no-untyped-def]
        mark("before_pipeline_run.begin")
        yield
        mark("before_pipeline_run.end")

    @hook_impl
    def before_node_run(self, node):  # type: ignore[no-untyped-def]
        if self._nodes == 0:
            mark("first_node.begin")

    @hook_impl
    def after_node_run(self, node):  # type: ignore[no-untyped-def]
        self._nodes += 1
        mark("last_node.end")  # the last line of this kind is the last node's

    @hook_impl(hookwrapper=True)
    def after_pipeline_run(self, run_params, pipeline, catalog):  # type: ignore[no-untyped-def]
        mark("after_pipeline_run.begin")
        yield
        mark("after_pipeline_run.end")
