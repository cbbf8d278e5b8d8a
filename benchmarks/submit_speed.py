"""How fast is `kedro azureml submit` before it uploads? Two figures, each against its reference.

1. A repeated `kedro azureml submit --dry-run` of an unchanged starter project, against
   `kedro registry list` in the same project (both load the project and its pipelines): the
   difference is what the plugin adds. Target: at most 1 s more. Also shown: the same dry run with
   an empty wheel cache (what the cache saves), and with 1 GiB of data included (the dry run lists
   data, it does not copy it).
2. Packing 1 GiB of included data for a real submission (not a dry run), against `tar -cf` of the
   same files into one archive on the same disk. Target: at most 1.5× tar.

Builds a starter project (`kedro new --starter=azureml-mlflow`) under benchmarks/.work/submit/, with
a `conf/local/credentials.yml` holding two values (so the credentials content check reads every
byte, as it would in a real project) and, for the 1 GiB figures, 16 files of 64 MiB of random bytes
in `data/01_raw/`. Runs are interleaved round-robin, each scenario after one untimed warm-up (which
also fills the plugin's wheel cache and the page cache, for tar alike).

Run:  .venv/bin/python benchmarks/submit_speed.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python benchmarks/…` finds the repo's packages

from rich.table import Table

from benchmarks.harness.common import REPO, STANDALONE, bench_env, console, rel, run_quiet, tail, write
from benchmarks.harness.report import fmt, header_lines, ratio
from benchmarks.harness.runner import Scenario, run_scenario, warm_up
from kedro_azureml_mlflow.bundle.snapshot import select_files

WORK = REPO / "benchmarks" / ".work" / "submit"
PACKAGE = "bench"  # `kedro new --name bench`: folder and package "bench"
DATA_FILES, DATA_FILE_MIB = 16, 64
CREDENTIALS = "db:\n  username: bench-user-4821\n  password: bench-password-97f3a1c2\n"
DRY_RUN_TARGET_S = 1.0
PACK_TARGET_RATIO = 1.5
DRY_RUN_OK = "Dry run: nothing was uploaded or submitted."


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per scenario (default 5)")
    return parser.parse_args()


def make_projects(kedro: Path) -> tuple[Path, Path]:
    """The starter project, and a copy of it with 1 GiB of raw data (made once, kept)."""
    WORK.mkdir(parents=True, exist_ok=True)
    starter = WORK / PACKAGE
    if not (starter / "pyproject.toml").is_file():
        done = run_quiet(
            [str(kedro), "new", "--starter=azureml-mlflow", "--name", PACKAGE], cwd=WORK, env=bench_env(), timeout=600
        )
        if done.returncode != 0:
            sys.exit(f"kedro new failed:\n{tail(done.stdout + done.stderr)}")
    write(starter / "conf" / "local" / "credentials.yml", CREDENTIALS)
    big = WORK / f"{PACKAGE}-1gib"
    if not (big / "pyproject.toml").is_file():
        shutil.copytree(starter, big)
    for index in range(DATA_FILES):
        path = big / "data" / "01_raw" / f"blob_{index:02d}.bin"
        if not path.is_file() or path.stat().st_size != DATA_FILE_MIB << 20:
            with path.open("wb") as handle:
                for _ in range(DATA_FILE_MIB):
                    handle.write(os.urandom(1 << 20))
    return starter, big


def dry_run_scenarios(kedro: Path, starter: Path, big: Path) -> list[Scenario]:
    env = bench_env()
    cold_cache = WORK / "empty-wheel-cache"

    def empty_cache() -> None:
        shutil.rmtree(cold_cache, ignore_errors=True)

    submit = [str(kedro), "azureml", "submit", "--dry-run"]
    return [
        Scenario("registry", "kedro registry list [baseline]", "", starter, [str(kedro), "registry", "list"], env),
        Scenario("dry", "submit --dry-run (repeated, unchanged)", "", starter, submit, env, expect=DRY_RUN_OK),
        Scenario(
            "cold",
            "submit --dry-run, empty wheel cache",
            "",
            starter,
            submit,
            {**env, "KEDRO_AZUREML_MLFLOW_CACHE_DIR": str(cold_cache)},
            before=empty_cache,
            expect=DRY_RUN_OK,
        ),
        Scenario("dry1g", "submit --dry-run --include-data, 1 GiB", "", big, [*submit, "--include-data"], env),
    ]


def pack_once(big: Path, python: str) -> dict[str, float]:
    """One packing in a fresh interpreter; its own clock around the packing only (see pack_project.py)."""
    done = run_quiet([python, str(STANDALONE / "pack_project.py"), PACKAGE], cwd=big, env=bench_env(), timeout=900)
    if done.returncode != 0:
        sys.exit(f"packing failed:\n{tail(done.stdout + done.stderr)}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def children_cpu() -> float:
    """CPU seconds (user + system) of every finished child process so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Row:
    """One measured thing: wall and CPU seconds of each timed run."""

    label: str
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def dry_run_rounds(scenarios: list[Scenario], rounds: int) -> list[Row]:
    """Timed runs, interleaved round-robin (as the harness does), with each run's CPU time too."""
    rows = [Row(s.label) for s in scenarios]
    for r in range(rounds):
        console.print(f"Round {r + 1}/{rounds} of {len(scenarios)} runs …")
        for scenario, row in zip(scenarios, rows, strict=True):
            before = children_cpu()
            run_scenario(scenario, timed=True)
            if scenario.error:
                sys.exit(f"{scenario.label}: {scenario.error} (log: {rel(scenario.log or WORK)})")
            row.wall.append(scenario.times[-1])
            row.cpu.append(children_cpu() - before)
    return rows


def tar_once(big: Path, file_list: Path) -> tuple[float, float]:
    """Wall and CPU seconds of ``tar -cf`` of the listed files into one archive next to them."""
    archive = WORK / "snapshot.tar"
    before, started = children_cpu(), time.perf_counter()
    subprocess.run(["tar", "-cf", str(archive), "-C", str(big), "-T", str(file_list)], check=True)
    elapsed, cpu = time.perf_counter() - started, children_cpu() - before
    archive.unlink()
    return elapsed, cpu


def pack_vs_tar(big: Path, python: str, repeat: int) -> tuple[Row, Row, dict[str, float]]:
    """Interleaved: pack, tar, pack, tar… after one untimed run of each (page cache warm for both)."""
    files = select_files(big, exclude_data=False)
    file_list = WORK / "snapshot-files.txt"
    file_list.write_text("".join(f"{f.path}\n" for f in files))
    pack_once(big, python)
    tar_once(big, file_list)
    pack, tar = Row("kedro azureml submit: packing (not a dry run)"), Row("tar -cf of the same files")
    last: dict[str, float] = {}
    for _ in range(repeat):
        last = pack_once(big, python)
        pack.wall.append(last["seconds"])
        pack.cpu.append(last["cpu_seconds"])
        wall, cpu = tar_once(big, file_list)
        tar.wall.append(wall)
        tar.cpu.append(cpu)
    last["snapshot_files"] = len(files)
    last["snapshot_bytes"] = sum(f.size for f in files)
    return pack, tar, last


def table(title: str, rows: list[Row], base: Row, compare: str) -> Table:
    """Median and min of wall and CPU seconds, and each row against ``base`` (difference or ratio)."""
    out = Table(title=title, title_justify="left")
    out.add_column("")
    for name in ("runs", "wall median", "wall min", "CPU median", "CPU min", f"wall {compare}", f"CPU {compare}"):
        out.add_column(name, justify="right")
    for row in rows:
        out.add_row(
            row.label,
            str(len(row.wall)),
            fmt(_med(row.wall)),
            fmt(min(row.wall)),
            fmt(_med(row.cpu)),
            fmt(min(row.cpu)),
            _against(_med(row.wall), _med(base.wall), compare),
            _against(_med(row.cpu), _med(base.cpu), compare),
        )
    return out


def _against(value: float | None, base: float | None, compare: str) -> str:
    if value is None or base is None:
        return "—"
    return f"{value - base:+.2f} s" if compare == "over baseline" else ratio(value, base)


def _med(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def verdicts(dry: Row, registry: Row, pack: Row, tar: Row) -> list[str]:
    over = {kind: _med(getattr(dry, kind)) - _med(getattr(registry, kind)) for kind in ("wall", "cpu")}
    times = {kind: _med(getattr(pack, kind)) / _med(getattr(tar, kind)) for kind in ("wall", "cpu")}
    return [
        f"Target 1, repeated dry run ≤ {DRY_RUN_TARGET_S:.0f} s over `kedro registry list`: "
        + ", ".join(
            f"{kind} {value:+.2f} s ({'met' if value <= DRY_RUN_TARGET_S else 'NOT met'})"
            for kind, value in over.items()
        ),
        f"Target 2, packing 1 GiB ≤ {PACK_TARGET_RATIO}× tar: "
        + ", ".join(
            f"{kind} {value:.2f}× ({'met' if value <= PACK_TARGET_RATIO else 'NOT met'})"
            for kind, value in times.items()
        ),
    ]


def main() -> None:
    args = parse_args()
    kedro = Path(sys.executable).with_name("kedro")
    started = time.perf_counter()
    header = header_lines(None)
    for line in header:
        console.print(line)
    starter, big = make_projects(kedro)
    scenarios = dry_run_scenarios(kedro, starter, big)
    for scenario in scenarios:
        scenario.log = WORK / "logs" / f"{scenario.key}.log"
    warm_up(scenarios)
    rows = dry_run_rounds(scenarios, args.repeat)
    pack, tar, last = pack_vs_tar(big, sys.executable, args.repeat)
    console.print(
        table("`kedro azureml submit --dry-run` vs `kedro registry list` (seconds)", rows, rows[0], "over baseline")
    )
    console.print(
        f"1 GiB project: {int(last['snapshot_files'])} files, {last['snapshot_bytes'] / 2**30:.2f} GiB selected; "
        f"staged {int(last['files'])} files, {int(last['linked'])} of them hard links"
    )
    console.print(table("1 GiB of included data: packing vs tar (seconds)", [pack, tar], tar, "× tar"))
    lines = verdicts(rows[1], rows[0], pack, tar)
    for line in lines:
        console.print(line)
    results = {"header": header, "rows": [asdict(row) for row in [*rows, pack, tar]], "staged": last, "targets": lines}
    write(WORK / "results.json", json.dumps(results, indent=2) + "\n")
    console.print(f"Results: {rel(WORK / 'results.json')} ({time.perf_counter() - started:.0f} s in all)")


if __name__ == "__main__":
    main()
