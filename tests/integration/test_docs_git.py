"""Docs checks that read the repository through git."""

from __future__ import annotations

import re
import subprocess

from tests.error_messages import PACKAGE

REPO = PACKAGE.parent
DOCS = REPO / "docs"
TROUBLESHOOTING = DOCS / "troubleshooting.md"
# Messages whose text comes from another tool, and the documented entry that covers them.
PASSED_THROUGH = {
    (
        "kedro_azureml_mlflow/cli/run_args.py",
        "_cut_items(exc.message, value)",
    ): "Error: Invalid format of `params` option: ",
    # The tracking agent's answer about the workspace: AzureWorkspace.errors' own messages.
    ("kedro_azureml_mlflow/tracking/tracked_run.py", "str(answer['error'])"): "Error: Could not sign in to Azure",
}
_HEADING = re.compile(r"^#{2,4} (`+) ?(.*?) ?\1$", re.MULTILINE)
_TEST_REFERENCE = re.compile(r"(tests/[\w/]+\.py)::(\w+)")


def test_the_design_is_cited_only_inside_the_repository() -> None:
    outside = "DESIGN" + ".md"  # the steering design the project started from; its content is docs/architecture.md
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    citing = [
        name for name in tracked if (REPO / name).is_file() and outside in (REPO / name).read_text(errors="ignore")
    ]
    assert citing == []
