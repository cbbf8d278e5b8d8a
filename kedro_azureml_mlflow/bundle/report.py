"""What ``--dry-run`` shows of a packaged project: MLproject, environment spec, command, files."""

from __future__ import annotations

from typing import Any

from kedro_azureml_mlflow.bundle.build import MLPROJECT_FILE, PackagedProject


def show_package(package: PackagedProject, job_command: str, console: Any) -> None:
    """Print everything that would be submitted to ``console`` (a rich Console).

    ``job_command`` is what an Azure ML job would run: the entry point's command, preceded by
    the install of shipped wheels when there are any.
    """
    from rich.table import Table

    sections = (
        (MLPROJECT_FILE, package.mlproject_text),
        (package.env_file, package.env_text),
        ("Command", package.command),
        ("Azure ML job command", job_command),
    )
    for title, text in sections:
        console.print(f"[bold]── {title}[/bold]")
        console.print(text.rstrip(), markup=False, highlight=False, soft_wrap=True)
    table = Table(title=f"Snapshot: {len(package.files)} files, {human_size(package.total_bytes)}")
    table.add_column("file")
    table.add_column("size", justify="right")
    for file in package.files:
        table.add_row(str(file.path), human_size(file.size))
    console.print(table)
    console.print("Dry run: nothing was uploaded or submitted.")


def human_size(n: float) -> str:
    """``532 B``, ``4.2 KiB``, ``12.0 MiB``."""
    if n < 1024:
        return f"{n:.0f} B"
    for unit in ("KiB", "MiB", "GiB"):
        n /= 1024
        if n < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}"
    return f"{n:.1f} GiB"
