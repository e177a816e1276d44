"""The import graph of the four packages: no import circles, and imports flow one way.

The graph is read from the source with ``ast`` (nothing is imported): one node per module, one edge per
``import`` / ``from ... import`` anywhere in the module, at the top or inside a function (a lazy import
still closes a circle). ``from package import name`` points at ``package.name`` when that is a module,
else at ``package``. The implicit import of a parent package's ``__init__`` is not an edge.

One-way rule: ``demo -> talking_head -> (audio2kp, fomm_core)``, ``audio2kp -> fomm_core``, ``fomm_core``
imports none of them. The one allowed exception, at run time only: the ``talking-head demo`` command
(:data:`LAZY_EXCEPTIONS`) imports the ``demo`` package inside its ``run()``, after argv is parsed, so
``import talking_head`` never loads Gradio; nothing in ``demo`` imports that command module, so it closes
no circle.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Set, Tuple

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("fomm_core", "audio2kp", "talking_head", "demo")
#: Which of the four packages each package may import (besides itself).
ALLOWED: Dict[str, Set[str]] = {
    "fomm_core": set(),
    "audio2kp": {"fomm_core"},
    "talking_head": {"audio2kp", "fomm_core"},
    "demo": {"talking_head", "audio2kp", "fomm_core"},
}
#: ``(importing module, imported package)`` pairs allowed against :data:`ALLOWED`, only inside a function.
LAZY_EXCEPTIONS = {("talking_head.commands.demo", "demo")}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> Dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def missing_imports(path: Path, module: str, modules: Dict[str, Path]) -> List[str]:
    """Modules of the four packages that ``path`` imports (anywhere) but that do not exist."""
    missing = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [_absolute(module, path.name == "__init__.py", node)]
        else:
            continue
        missing += [f"{module}: {name}" for name in names if name.split(".")[0] in PACKAGES and name not in modules]
    return missing


def imports_of(module: str, path: Path, modules: Dict[str, Path]) -> List[Tuple[str, bool]]:
    """``(imported module, at module level?)`` for every import statement in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    top_level = {id(n) for n in tree.body}
    for node in tree.body:  # imports under a top-level ``if``/``try`` also run at import time
        if isinstance(node, (ast.If, ast.Try)):
            top_level.update(id(n) for n in ast.walk(node))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, path.name == "__init__.py", node)
            targets = [f"{source}.{a.name}" if f"{source}.{a.name}" in modules else source for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules and "." in target:
                target = target.rsplit(".", 1)[0]  # ``import a.b.c`` of a name inside a module
            if target in modules:
                out.append((target, id(node) in top_level))
    return out


def import_graph() -> Tuple[Dict[str, Set[str]], List[Tuple[str, str, bool]]]:
    modules = all_modules()
    graph: Dict[str, Set[str]] = {m: set() for m in modules}
    edges = []
    for module, path in modules.items():
        for target, top in imports_of(module, path, modules):
            if target != module:
                graph[module].add(target)
                edges.append((module, target, top))
    return graph, edges


def strongly_connected(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """Tarjan's components with more than one module (each one an import circle)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found: List[List[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
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

    import sys

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_the_packages_and_lazy_imports():
    graph, edges = import_graph()
    assert {"fomm_core.model", "audio2kp.model", "talking_head.pipeline", "demo.app"} <= set(graph)
    assert ("audio2kp.learned_driver", "audio2kp.model", True) in edges
    assert ("talking_head.commands.demo", "demo.app", False) in edges  # a lazy import is an edge too


def test_every_import_of_the_packages_names_a_module():
    modules = all_modules()
    assert [m for name, path in modules.items() for m in missing_imports(path, name, modules)] == []


def test_no_import_circle():
    graph, _ = import_graph()
    assert strongly_connected(graph) == []


def test_a_planted_circle_is_found():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert strongly_connected(graph) == [["a", "b", "c"]]


def test_imports_flow_one_way():
    _, edges = import_graph()
    bad = []
    for source, target, top in edges:
        src_pkg, dst_pkg = source.split(".")[0], target.split(".")[0]
        if src_pkg == dst_pkg or dst_pkg in ALLOWED[src_pkg]:
            continue
        if not top and (source, dst_pkg) in LAZY_EXCEPTIONS:
            continue
        bad.append(f"{source} -> {target}{'' if top else ' (inside a function)'}")
    assert bad == []
