"""The package's floors, read from its imports (docs/design/007-layout.md).

Every import that runs (at module level or inside a function; not those under
`if TYPE_CHECKING:`) is an arrow from one module to another. Two rules:

- an arrow goes only to a part this part may import (the table below, the design note's
  picture): down a floor, or within the part itself; the apps are siblings and never
  import one another;
- no cycle: no module reaches itself by following arrows.

The checker is tried on a small package with one violation of each kind, so that it is
known to fail when it should.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

GROUND = "ground"  # the modules at the package root and records/
LOWER = frozenset({"net", "analysis", "detect", "lab"})
APPS = frozenset({"probe", "testhelper", "observatory", "incidents"})

# part -> the parts it may import besides itself. The design note draws the same table.
ALLOWED: Mapping[str, frozenset[str]] = {
    GROUND: frozenset(),
    "net": frozenset({GROUND}),
    "analysis": frozenset({GROUND}),
    "detect": frozenset({GROUND, "analysis"}),
    # The outage replay world (issue 11) is made of detection's records; the censorship lab's
    # scenario table names the verdicts analysis gives (issue 14).
    "lab": frozenset({GROUND, "net", "analysis", "detect"}),
    **{app: frozenset({GROUND, "net", "analysis", "detect"}) for app in APPS},
    "web": frozenset({GROUND, "net", "analysis", "detect", *APPS}),
    "server": frozenset({GROUND, "net", "analysis", "detect", *APPS, "web"}),
    "cli": frozenset({GROUND, "net", "analysis", "detect", "lab", *APPS, "web", "server"}),
}


def part_of(module: str) -> str:
    """The part a module belongs to: its first package below the root, or the ground floor."""
    parts = module.split(".")
    if module == "netvigil.__main__":  # `python -m netvigil` is the command line
        return "cli"
    if len(parts) == 1 or parts[1] == "records":
        return GROUND
    if len(parts) == 2 and parts[1] not in ALLOWED:  # a module at the root: ground floor
        return GROUND
    return parts[1]


def _modules(root: Path, package: str) -> dict[str, Path]:
    found = {}
    for path in sorted((root / package).rglob("*.py")):
        name = ".".join(path.relative_to(root).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements that run: everything but the bodies of `if TYPE_CHECKING:`."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in _runtime_nodes(child))
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from _runtime_nodes(node)


Graph = dict[str, dict[str, int]]  # module -> {imported module: line of the first import}


def import_graph(root: Path, package: str) -> Graph:
    """Module -> module, for every import of `package` by `package` that runs."""
    modules = _modules(root, package)
    graph: Graph = {name: {} for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
            for target in _targets(node, name, is_package):
                while target not in modules and "." in target:  # `from a.b import name`
                    target = target.rsplit(".", 1)[0]
                if target in modules and target != name:
                    graph[name].setdefault(target, node.lineno)
    return graph


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        anchor = module.split(".")
        anchor = anchor if is_package else anchor[:-1]
        anchor = anchor[: len(anchor) - node.level + 1]
        base = ".".join([*anchor, base] if base else anchor)
    # `from a import b` may name the submodule a.b; a name that is not one resolves to a.
    return [f"{base}.{alias.name}" for alias in node.names]


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm): each
    is a set of modules that import one another, directly or not, sorted by name."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in graph[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while (member := stack.pop()) != module:
                component.append(member)
            if component:
                found.append(sorted([module, *component]))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(found)


def violations(graph: Graph) -> list[str]:
    """Each import that goes up a floor or across to a sibling, and each cycle."""
    found = []
    for source in sorted(graph):
        for target, line in sorted(graph[source].items()):
            mine, theirs = part_of(source), part_of(target)
            if mine != theirs and theirs not in ALLOWED[mine]:
                found.append(f"{source}:{line} imports {target} ({mine} -> {theirs})")
    found += ["cycle: " + " <-> ".join(component) for component in cycles(graph)]
    return found


def test_the_package_imports_only_down_and_has_no_cycle() -> None:
    graph = import_graph(SRC, "netvigil")
    assert sum(map(len, graph.values())) > 300  # the walk read the package's imports
    assert violations(graph) == []


def test_every_part_of_the_package_is_in_the_table() -> None:
    parts = {part_of(module) for module in _modules(SRC, "netvigil")}
    assert parts <= set(ALLOWED), parts - set(ALLOWED)
    assert {GROUND, "net", "analysis", "web", "server", "cli", *APPS} <= parts


def test_the_checker_finds_an_upward_import_a_sideways_one_and_a_cycle(tmp_path: Path) -> None:
    files = {
        "netvigil/__init__.py": "",
        "netvigil/failures.py": "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from netvigil.probe import run\n",  # type-only: allowed
        "netvigil/addresses.py": "def f():\n    from netvigil.net import backend\n",
        "netvigil/net/__init__.py": "",
        "netvigil/net/backend.py": "import netvigil.failures\n",
        "netvigil/probe/__init__.py": "",
        "netvigil/probe/run.py": "from netvigil.incidents.store import save\n",
        "netvigil/incidents/__init__.py": "",
        "netvigil/incidents/store.py": "from . import api\n",
        "netvigil/incidents/api.py": "from netvigil.incidents import store\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert violations(import_graph(tmp_path, "netvigil")) == [
        "netvigil.addresses:2 imports netvigil.net.backend (ground -> net)",
        "netvigil.probe.run:1 imports netvigil.incidents.store (probe -> incidents)",
        "cycle: netvigil.incidents.api <-> netvigil.incidents.store",
    ]
