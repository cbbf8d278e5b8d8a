"""The package's rooms import one way: a room may import itself and the rooms listed before it, never after.

Every import counts, wherever it is written (a lazy import inside a function, one under
``TYPE_CHECKING``): a lazy import still makes the lower room know about the higher one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import kedro_azureml_mlflow

PACKAGE = "kedro_azureml_mlflow"
PACKAGE_DIR = Path(kedro_azureml_mlflow.__file__).parent

# Lowest first. A room is named by the module prefixes (relative to the package) it holds; a module belongs
# to the room with the longest matching prefix. A new room is one line, put where its imports allow.
ROOMS: list[tuple[str, tuple[str, ...]]] = [
    ("version", ("",)),  # the package's __init__ only: its version, imported by anyone
    ("core", ("core",)),
    ("settings", ("settings",)),
    ("azure_ml", ("azure_ml",)),
    ("tracking.wire", ("tracking", "tracking.wire")),  # "tracking": the package's own docstring
    ("tracking.client", ("tracking.client",)),
    ("tracking.journal", ("tracking.journal",)),
    ("tracking.plan", ("tracking.plan",)),
    ("tracking.pipeline_side", ("tracking.pipeline_side",)),
    ("tracking.agent", ("tracking.agent",)),
    ("io", ("io",)),
    ("hooks", ("hooks",)),
    ("bundle", ("bundle",)),
    ("backend", ("backend",)),
    ("pipeline_jobs", ("pipeline_jobs",)),
    ("sweeps", ("sweeps",)),
    ("schedules", ("schedules",)),
    ("cli", ("cli",)),
    # Public paths kept for users and entry points: they re-export what lives in the rooms above.
    ("public", ("datasets", "starters", "workspace_data")),
]
RANK = {name: rank for rank, (name, _) in enumerate(ROOMS)}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def room_of(module: str) -> str | None:
    """The room of a module named relative to the package (``""``: the package itself)."""
    best: tuple[int, str] | None = None
    for name, prefixes in ROOMS:
        for prefix in prefixes:
            matches = module == prefix if prefix == "" else module == prefix or module.startswith(prefix + ".")
            if matches and (best is None or len(prefix) > best[0]):
                best = (len(prefix), name)
    return best[1] if best else None


def imported_modules(source: str, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The package's modules that ``source`` imports (relative to the package), at any depth of the tree."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".") if package else []
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join([PACKAGE, *base, *([node.module] if node.module else [])])
            else:
                origin = node.module or ""
            # `from pkg import module` imports the module; `from module import name` imports the module
            names = [f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in known else origin for alias in node.names]
        else:
            continue
        for name in names:
            if name == PACKAGE or name.startswith(PACKAGE + "."):
                found.add(name[len(PACKAGE) + 1 :])
    return found


def import_graph(package_dir: Path) -> dict[str, set[str]]:
    """Each module of the package -> the package's modules it imports."""
    files = {module_name(path): path for path in sorted(package_dir.rglob("*.py"))}
    known = {f"{PACKAGE}.{name}" if name else PACKAGE for name in files}
    return {
        name: imported_modules(path.read_text(), name, path.name == "__init__.py", known)
        for name, path in files.items()
    }


def backwards_imports(graph: dict[str, set[str]]) -> list[str]:
    """One line per import from a lower room to a higher one (or by or of a module in no room)."""
    problems = []
    for module, imports in sorted(graph.items()):
        room = room_of(module)
        if room is None:
            problems.append(f"{module or PACKAGE}: in no room (add its folder to ROOMS)")
            continue
        for imported in sorted(imports):
            target = room_of(imported)
            if target is None:
                problems.append(f"{module} imports {imported}, which is in no room")
            elif RANK[target] > RANK[room]:
                problems.append(f"{module} ({room}) imports {imported} ({target}), a room above it")
    return problems


def room_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Cycles between rooms (strongly connected components of more than one room)."""
    edges: dict[str, set[str]] = {name: set() for name, _ in ROOMS}
    for module, imports in graph.items():
        source = room_of(module)
        for imported in imports:
            target = room_of(imported)
            if source and target and source != target:
                edges[source].add(target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(room: str) -> None:  # Tarjan's algorithm
        index[room] = low[room] = len(index)
        stack.append(room)
        for target in edges[room]:
            if target not in index:
                visit(target)
                low[room] = min(low[room], low[target])
            elif target in stack:
                low[room] = min(low[room], index[target])
        if low[room] == index[room]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == room:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for room in edges:
        if room not in index:
            visit(room)
    return cycles


def test_every_import_points_down_the_room_order() -> None:
    problems = backwards_imports(import_graph(PACKAGE_DIR))
    assert not problems, "\n".join(problems)


def test_no_cycle_between_rooms() -> None:
    cycles = room_cycles(import_graph(PACKAGE_DIR))
    assert not cycles, "rooms that import each other: " + "; ".join(" <-> ".join(cycle) for cycle in cycles)


def test_the_graph_sees_lazy_imports_and_every_room() -> None:
    """The checks above can fail: a lazy backwards import, written as the package writes imports, is found."""
    graph = import_graph(PACKAGE_DIR)
    assert {room_of(module) for module in graph} == set(RANK), "a room in ROOMS holds no module"
    source = "def late():\n    from kedro_azureml_mlflow.cli import group\n    from ..backend import job\n"
    lazy = imported_modules(source, "core.errors", is_package=False, known={f"{PACKAGE}.cli.group"})
    assert lazy == {"cli.group", "backend"}
    broken = {**graph, "core.errors": graph["core.errors"] | lazy}
    assert backwards_imports(broken) == [
        "core.errors (core) imports backend (backend), a room above it",
        "core.errors (core) imports cli.group (cli), a room above it",
    ]
    looped = {"core.errors": {"cli.group"}, "cli.group": {"core.errors"}, "settings.config": {"core.errors"}}
    assert room_cycles(looped) == [["cli", "core"]]


@pytest.mark.parametrize(
    ("module", "room"),
    [
        ("", "version"),
        ("tracking", "tracking.wire"),
        ("tracking.agent.__main__", "tracking.agent"),
        ("io.workspace_data.access", "io"),
        ("workspace_data.hooks", "public"),
        ("hooks", "hooks"),
    ],
)
def test_rooms_by_longest_prefix(module: str, room: str) -> None:
    assert room_of(module) == room
