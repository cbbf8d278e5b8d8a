"""The snapshot follows git's ignore rules: `git check-ignore` in a real repository is the reference.

Kedro's own default `.gitignore` (read from the installed Kedro's project template), spaceflights'
(Kedro's plus its re-included raw files) and a file of git's edge cases are each applied to one
Kedro-shaped tree; the files the snapshot selects must be exactly those git does not ignore.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from kedro_azureml_mlflow.bundle.snapshot import select_files

KEDRO_TEMPLATE_GITIGNORE = next(
    (Path(__import__("kedro").__file__).parent / "templates" / "project").glob("*/.gitignore")
)
SPACEFLIGHTS_EXTRA = (
    "\n# keep the example raw data\n!data/01_raw/companies.csv\n!data/01_raw/reviews.csv\n!data/01_raw/shuttles.xlsx\n"
)
EDGE_CASES = """\
build/
!build/keep.txt
logs/*
!logs/important.log
*.tmp
!/keep.tmp
/rooted.txt
deep/**/x.txt
\\#hash.txt
data/**
!data/**/
!data/01_raw/*.csv
data/01_raw/secret_*.csv
"""

TREE = [
    ".gitignore",
    "pyproject.toml",
    "README.md",
    "conf/README.md",
    "conf/base/catalog.yml",
    "conf/base/parameters.yml",
    "data/01_raw/.gitkeep",
    "data/01_raw/companies.csv",
    "data/01_raw/reviews.csv",
    "data/01_raw/shuttles.xlsx",
    "data/01_raw/secret_salaries.csv",
    "data/02_intermediate/.gitkeep",
    "data/02_intermediate/preprocessed_companies.parquet",
    "data/06_models/regressor.pickle",
    "data/08_reporting/.gitkeep",
    "notebooks/.gitkeep",
    "notebooks/explore.ipynb",
    "src/spaceflights/__init__.py",
    "src/spaceflights/pipeline_registry.py",
    "src/spaceflights/pipelines/data_processing/nodes.py",
    "build/keep.txt",
    "build/lib/x.py",
    "logs/important.log",
    "logs/run.log",
    "logs/sub/deep.txt",
    "keep.tmp",
    "sub/keep.tmp",
    "rooted.txt",
    "sub/rooted.txt",
    "deep/x.txt",
    "deep/a/b/x.txt",
    "#hash.txt",
    "info.log",
    ".viz/stats.json",
    "docs/build/index.html",
    "lib/helper.py",
    "editor.swp~",
]


def gitignore(kind: str) -> str:
    kedro = KEDRO_TEMPLATE_GITIGNORE.read_text()
    return {"kedro-default": kedro, "spaceflights": kedro + SPACEFLIGHTS_EXTRA, "edge-cases": EDGE_CASES}[kind]


def make_project(root: Path, ignore_text: str) -> Path:
    for rel in TREE:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{rel}\n")
    (root / ".gitignore").write_text(ignore_text)
    return root


def not_ignored_by_git(root: Path) -> set[str]:
    """``git check-ignore`` over every file of the tree, in a fresh repository."""
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    done = subprocess.run(
        ["git", "-C", str(root), "check-ignore", "--stdin"],
        input="\n".join(TREE) + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr  # 1: nothing ignored
    ignored = set(done.stdout.splitlines())
    assert ignored, "the ignore file ignored nothing: the comparison would prove nothing"
    return set(TREE) - ignored


def snapshot(root: Path) -> set[str]:
    return {str(f.path) for f in select_files(root, exclude_data=False)} - {".git"}


@pytest.mark.skipif(shutil.which("git") is None, reason="git is the reference and is not installed")
@pytest.mark.parametrize("kind", ["kedro-default", "spaceflights", "edge-cases"])
def test_snapshot_selects_exactly_what_git_does_not_ignore(tmp_path: Path, kind: str) -> None:
    root = make_project(tmp_path, gitignore(kind))
    expected = not_ignored_by_git(root)
    assert snapshot(root) == expected


def test_spaceflights_gitignore_ships_companies_csv_and_no_run_output(tmp_path: Path) -> None:
    root = make_project(tmp_path, gitignore("spaceflights"))
    files = snapshot(root)
    assert {"data/01_raw/companies.csv", "data/01_raw/reviews.csv", "data/01_raw/shuttles.xlsx"} <= files
    assert "data/02_intermediate/preprocessed_companies.parquet" not in files
    assert "data/06_models/regressor.pickle" not in files
    assert {"data/02_intermediate/.gitkeep", "data/08_reporting/.gitkeep"} <= files  # `!.gitkeep`


def test_a_file_inside_a_folder_excluded_by_name_stays_out(tmp_path: Path) -> None:
    # git cannot re-include a file whose folder is excluded: `build/` then `!build/keep.txt`.
    root = make_project(tmp_path, gitignore("edge-cases"))
    files = snapshot(root)
    assert "build/keep.txt" not in files and "logs/important.log" in files
    assert "data/01_raw/companies.csv" in files and "data/01_raw/secret_salaries.csv" not in files


def test_data_still_left_out_without_include_data(tmp_path: Path) -> None:
    root = make_project(tmp_path, gitignore("spaceflights"))
    assert not {f for f in (str(f.path) for f in select_files(root)) if f.startswith("data/")}
