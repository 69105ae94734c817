"""The package layout shows the pipeline: no import circles, no shell loose at the root, a core with no I/O."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "streams"

#: What may stay at ``streams/``'s root: the faust app (``faust -A streams.app``), the settings, the package.
ROOT_MODULES = {"__init__.py", "app.py", "config.py"}

#: Imports that make a module a shell (transport, GX, the web, office files, documents); the core has none.
SHELL_IMPORTS = {"kafka", "faust", "great_expectations", "fastapi", "starlette", "uvicorn", "openpyxl",
                 "python_calamine", "docx", "nbformat", "nbclient", "nbconvert", "urllib", "socket",
                 "subprocess", "multiprocessing", "shutil", "tempfile"}


def _module_name(path: Path) -> str:
    """``streams/replay/files.py`` → ``streams.replay.files``; a package's ``__init__.py`` → the package."""
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    """Every module of ``streams`` by dotted name."""
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _imported(tree: ast.AST) -> list[tuple[str, list[str]]]:
    """Every import anywhere in the module (top level and inside functions): (module, names imported from it)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found.extend((a.name, []) for a in node.names)
    return found


def _targets(module: str, names: list[str], known: dict[str, Path]) -> set[str]:
    """The ``streams`` modules an import reaches: a submodule named in ``from pkg import sub``, else the module."""
    if module.split(".")[0] != "streams":
        return set()
    subs = {f"{module}.{n}" for n in names if f"{module}.{n}" in known}
    plain = [n for n in names if f"{module}.{n}" not in known]
    return subs | ({module} if (plain or not names) and module in known else set())


def _graph() -> dict[str, set[str]]:
    """The import graph among ``streams`` modules."""
    known = _modules()
    graph = {}
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        graph[name] = set().union(*(_targets(m, ns, known) for m, ns in _imported(tree))) - {name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a path (first module repeated at its end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_the_graph_sees_function_level_imports():
    """The graph is built from lazy imports too (the circles this layout removed were all lazy ones)."""
    graph = _graph()
    assert any(m.endswith(".ingest") for m in graph["streams.cli.feeds"])  # imported inside ``ingest()``


def test_no_import_circles():
    """No two ``streams`` modules reach each other through their imports, at any depth."""
    cycle = _cycle(_graph())
    assert cycle is None, "import circle: " + " → ".join(cycle or [])


def test_no_shell_loose_at_the_root():
    """Every shell lives in a package named for what it does; only the app, the settings and the package's
    own ``__init__`` stay at ``streams/``."""
    loose = sorted(p.name for p in ROOT.glob("*.py") if p.name not in ROOT_MODULES)
    assert loose == []


def test_core_imports_no_shell():
    """``streams/core`` is pure: no transport, GX, web, office files or processes, and no ``streams`` shell."""
    offending = []
    for name, path in _modules().items():
        if not name.startswith("streams.core"):
            continue
        for module, _ in _imported(ast.parse(path.read_text(encoding="utf-8"))):
            top = module.split(".")[0]
            inner = module.startswith("streams.") and not module.startswith(("streams.core", "streams.contract"))
            if top in SHELL_IMPORTS or inner:
                offending.append(f"{name}: {module}")
    assert offending == []
