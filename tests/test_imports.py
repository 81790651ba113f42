"""The import graph of ``snnjax/`` has no cycle (issue 23).

The graph is read from the source with :mod:`ast`, not by importing: a node per module under ``snnjax/`` (a
package is its ``__init__``), an edge ``a -> b`` per ``import`` / ``from ... import`` in ``a`` that names ``b``.
What counts:

* imports at module level **and inside functions and methods**: an import put in a function to dodge a cycle at
  load time is still a dependency the module has when it runs (``snnjax.conn`` resolved ``Conv2D`` lazily that
  way), so it is an edge;
* ``from pkg import name`` is an edge to ``pkg.name`` when that is a module, else to ``pkg``; relative imports are
  resolved against the importing module;
* not counted: imports under ``if TYPE_CHECKING:`` (they never run), and the parent package that Python imports
  before any of its modules (every module would otherwise sit in a cycle with its package's ``__init__``).

Dynamic imports (``importlib.import_module``) are not seen: ``snnjax/__init__``'s lazy ``sj.plot`` / ``sj.nir``
use one, in the direction package -> module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import snnjax

PACKAGE = Path(snnjax.__file__).resolve().parent

# Cycles tolerated, each a set of modules, with why (none now). A cycle is tolerated only if all its modules are in one
# entry; any other cycle fails the test.
KNOWN: dict[frozenset, str] = {}


def modules(package: Path) -> dict[str, tuple[Path, bool]]:
    """Dotted name -> (file, is a package) for every module under ``package``."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        out[".".join(parts)] = (path, is_package)
    return out


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(name: str, path: Path, is_package: bool, known: dict) -> list[tuple[str, int]]:
    """``(imported module, line)`` for every import statement in module ``name`` that names a module of ``known``."""
    root = name.split(".")[0]
    found = []

    def nearest(target: str) -> str | None:
        while target and target not in known:
            target = target.rpartition(".")[0]
        return target or None

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child):
                for other in child.orelse:  # the else branch does run
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.split(".")[0] == root:
                        found.append((nearest(alias.name), child.lineno))
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = name.split(".") if is_package else name.split(".")[:-1]
                    base = base[: len(base) - (child.level - 1)]
                    module = ".".join(base + ([child.module] if child.module else []))
                else:
                    module = child.module or ""
                if module.split(".")[0] == root:
                    for alias in child.names:
                        sub = f"{module}.{alias.name}"
                        found.append((sub if sub in known else nearest(module), child.lineno))
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    return [(t, line) for t, line in found if t is not None and t != name]


def import_graph(package: Path) -> dict[str, dict[str, int]]:
    """Module -> {imported module: line of the first import of it}."""
    known = modules(package)
    graph: dict[str, dict[str, int]] = {}
    for name, (path, is_package) in known.items():
        edges: dict[str, int] = {}
        for target, line in imports(name, path, is_package, known):
            edges.setdefault(target, line)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each as a closed path through its
    modules ``[a, b, ..., a]`` along import edges, so a failure names the imports to look at."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                components.append(comp)

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return [_closed_path(graph, set(comp)) for comp in components]


def _closed_path(graph: dict[str, dict[str, int]], comp: set[str]) -> list[str]:
    """A cycle through the component's smallest module (breadth first: a shortest one)."""
    start = min(comp)
    parent: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph.get(v, {})):
                if w not in comp:
                    continue
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if w not in parent:
                    parent[w] = v
                    nxt.append(w)
        frontier = nxt
    raise AssertionError("a strongly connected component without a cycle")  # pragma: no cover


def describe(graph: dict[str, dict[str, int]], path: list[str]) -> str:
    return " -> ".join(f"{a} (line {graph[a][b]})" for a, b in zip(path, path[1:])) + f" -> {path[-1]}"


def test_snnjax_import_graph_has_no_cycle():
    graph = import_graph(PACKAGE)
    assert len(graph) > 50 and sum(map(len, graph.values())) > 200  # every module found, with its imports
    found = cycles(graph)
    unexpected = [c for c in found if not any(set(c) <= known for known in KNOWN)]
    assert not unexpected, "import cycles in snnjax/:\n" + "\n".join(describe(graph, c) for c in unexpected)


def test_the_check_finds_a_cycle_through_a_function_level_import(tmp_path):
    """The check itself: a cycle closed by an import inside a function is found and named, a TYPE_CHECKING-only
    import and a one-way import are not cycles."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from pkg import a\n")
    (pkg / "a.py").write_text("from pkg.sub import b\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import c\n\n"
        "def f():\n    from .. import a\n    return a\n"
    )
    (pkg / "c.py").write_text("import pkg.a\n")
    graph = import_graph(pkg)
    assert graph["pkg.sub.b"] == {"pkg.a": 6}  # relative, inside a function; the TYPE_CHECKING import left out
    assert graph["pkg.c"] == {"pkg.a": 1}
    found = cycles(graph)
    assert found == [["pkg.a", "pkg.sub.b", "pkg.a"]]
    assert describe(graph, found[0]) == "pkg.a (line 1) -> pkg.sub.b (line 6) -> pkg.a"


@pytest.mark.parametrize("edge", [("snnjax.runner", "snnjax.sharding"), ("snnjax.conn", "snnjax.convolution")])
def test_cycles_of_issue_23_are_gone(edge):
    """The two cycles the issue names: one of the two imports is gone."""
    graph = import_graph(PACKAGE)
    a, b = edge
    assert not (b in graph[a] and a in graph[b]), f"{a} and {b} import each other"
