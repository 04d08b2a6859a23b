"""The import graph of ``bpx_tui``: no cycles, and every layer imports only downwards.

``test_layers.py`` proves the non-UI layers import without Textual by really importing
them; this test reads the source instead, so it also sees what a run never executes:
imports inside functions (lazy imports) and under ``if TYPE_CHECKING:``.

How an import becomes an edge (strict on purpose, and simple enough to predict):

* ``import a.b.c`` is an edge to ``a.b.c`` (to the longest prefix that is one of our
  modules, if ``c`` is not).
* ``from a.b import c`` is an edge to ``a.b.c`` when that is a module, else to ``a.b``.
  Relative imports are resolved first.
* The packages Python runs on the way (``a`` and ``a.b`` for ``import a.b.c``) are *not*
  edges. Otherwise every package whose ``__init__`` re-exports a submodule would be in a
  cycle with each of that submodule's imports of a sibling, which Python handles fine
  because the sibling is imported by its full name. What does count: a submodule
  importing a *name from its own package* (``from bpx_tui.exchange import X`` inside
  ``bpx_tui.exchange.book``) while that package's ``__init__`` imports the submodule.
  Then both sides need the other to have run first, which is a real cycle.
* Lazy and ``TYPE_CHECKING`` imports count like any other. A lazy import only postpones
  a cycle to the first call, and a type-only one still says the lower layer knows about
  the upper; neither is allowed to hide a violation.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "bpx_tui"

# Layer -> the layers it must never import (directly or through a lazy import).
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "bpx_tui.exchange": (
        "bpx_tui.trading",
        "bpx_tui.ui",
        "bpx_tui.sim",
        "bpx_tui.benchmarks",
    ),
    "bpx_tui.trading": ("bpx_tui.ui", "bpx_tui.sim", "bpx_tui.benchmarks"),
    "bpx_tui.sim": ("bpx_tui.ui", "bpx_tui.trading"),
}

# Modules that exist only to keep an old import path working while its importers move
# (exempt from FORBIDDEN); each names the importer it waits for. The test fails once
# nothing imports the alias any more, so the alias cannot outlive its reason.
TEMPORARY_ALIASES: dict[str, str] = {}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted((ROOT / PACKAGE).rglob("*.py"))}


def _resolve(current: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = current.split(".") if is_package else current.split(".")[:-1]
    if node.level > 1:
        base = base[: -(node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _ours(name: str, modules: dict[str, Path]) -> str | None:
    """``name`` or its longest prefix that is one of our modules."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(current: str, path: Path, modules: dict[str, Path]) -> Iterator[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(current, is_package, node)
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            module = _ours(target, modules)
            if module is not None and module != current:
                yield module, node.lineno


def _graph() -> dict[str, dict[str, int]]:
    """module -> {imported module: line of the first such import}."""
    modules = _modules()
    graph: dict[str, dict[str, int]] = {}
    for name, path in modules.items():
        edges: dict[str, int] = {}
        for target, line in _imports(name, path, modules):
            edges.setdefault(target, line)
        graph[name] = edges
    return graph


def _cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Every strongly connected component of more than one module (Tarjan), as a cycle.

    Each component is reported as one concrete cycle through it, which is what has to
    be broken; a component may hide more, and they show once the first is fixed.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, {}):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_one_cycle(graph, set(component)) for component in components]


def _one_cycle(graph: dict[str, dict[str, int]], members: set[str]) -> list[str]:
    """A shortest path from the component's first module back to itself."""
    start = min(members)
    paths: dict[str, list[str]] = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph[node]):
                if target == start:
                    return [*paths[node], start]
                if target in members and target not in paths:
                    paths[target] = [*paths[node], target]
                    following.append(target)
        frontier = following
    raise AssertionError(f"no cycle through {start}")  # unreachable for a real component


def _describe(graph: dict[str, dict[str, int]], cycle: list[str]) -> str:
    steps = [
        f"{source} (line {graph[source][target]}) -> {target}" for source, target in pairwise(cycle)
    ]
    return "cycle:\n    " + "\n    ".join(steps)


def _in(module: str, layer: str) -> bool:
    return module == layer or module.startswith(layer + ".")


def test_the_graph_is_read() -> None:
    """Guards the test itself: a parser that found nothing would pass everything."""
    graph = _graph()
    assert "bpx_tui.exchange.client" in graph["bpx_tui.exchange"]
    assert "bpx_tui.exchange.book" in graph["bpx_tui.exchange.client"]
    # A lazy import inside a function is seen.
    assert "bpx_tui.benchmarks.book" in graph["bpx_tui.bench"]


def test_no_import_cycles() -> None:
    graph = _graph()
    cycles = _cycles(graph)
    assert not cycles, "\n".join(_describe(graph, cycle) for cycle in cycles)


def test_layers_import_only_downwards() -> None:
    graph = _graph()
    violations = [
        f"{source}:{line} imports {target} ({layer} must not import {banned})"
        for source, edges in graph.items()
        for layer, banned_layers in FORBIDDEN.items()
        if _in(source, layer) and source not in TEMPORARY_ALIASES
        for target, line in edges.items()
        for banned in banned_layers
        if _in(target, banned)
    ]
    assert not violations, "\n".join(violations)


def test_temporary_aliases_are_still_needed() -> None:
    graph = _graph()
    stale = [
        f"{alias}: nothing imports it any more (it waited for {waiting_for}); "
        "delete the alias and its entry"
        for alias, waiting_for in TEMPORARY_ALIASES.items()
        if alias in graph and not any(alias in edges for edges in graph.values())
    ]
    gone = [
        f"{alias}: deleted; drop its entry" for alias in TEMPORARY_ALIASES if alias not in graph
    ]
    assert not stale and not gone, "\n".join(stale + gone)
