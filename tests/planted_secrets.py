"""Issue 11's planted credentials files, shared by the snapshot tests and the dry-run test."""

from __future__ import annotations

from pathlib import Path


def reproduction(secret: str) -> dict[str, str]:
    """The four files of the issue's reproduction, each holding ``secret``, as a user would plant them."""
    return {
        "conf/base/credentials/db.yml": f"y: {{t: {secret}}}\n",
        "conf/base/credentials.json": f'{{"z": {{"t": "{secret}"}}}}\n',
        "secrets.json": f'{{"k": "{secret}"}}\n',
        ".aws/credentials": f"[default]\nkey={secret}\n",
    }


def make_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root
