"""The package layout: no import circle between modules, no module over 400 lines, and the folders the README maps.

Import circles are found on the real import graph (grimp, the engine behind import-linter), including imports made
only for type checking: a circle hidden behind ``TYPE_CHECKING`` is still two modules that cannot be read apart.
"""

from __future__ import annotations

from pathlib import Path

import grimp
import pytest

import mockserver

PACKAGE = Path(mockserver.__file__).parent
MAX_LINES = 400


def _graph() -> grimp.ImportGraph:
    return grimp.build_graph("mockserver", cache_dir=None)


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted, the list sorted."""
    modules = sorted(graph.modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:  # recursion depth is bounded by the module count (~100)
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, []):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in modules:
        if module not in index:
            visit(module)
    return sorted(found)


def test_no_import_circle_between_modules() -> None:
    cycles = import_cycles(_graph())
    assert cycles == [], "modules that import each other (directly or around a circle): " + "; ".join(
        " <-> ".join(c) for c in cycles
    )


def test_the_cycle_finder_can_fail() -> None:
    """A self-test: a graph with a known circle is reported."""
    graph = grimp.ImportGraph()
    for name in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(name)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.a")
    graph.add_import(importer="pkg.c", imported="pkg.a")
    assert import_cycles(graph) == [["pkg.a", "pkg.b"]]


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_over_400_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(PACKAGE.parent)} has {lines} lines: split it by concept"


def test_one_folder_per_concept() -> None:
    folders = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("__init__.py")}
    for expected in (
        "runtime/__init__.py",
        "remote/__init__.py",
        "core/faults/__init__.py",
        "core/journal/__init__.py",
        "core/lint/__init__.py",
        "core/mail/__init__.py",
        "core/identity/__init__.py",
        "http/__init__.py",
        "smtp/__init__.py",
    ):
        assert expected in folders
