"""Every import points down: the layers of docs/architecture.md, checked on the source.

Each module of ``c360`` and ``connectors`` belongs to one layer of :data:`LAYERS`
(top first) and imports only modules of its own layer or of layers below it,
and no two modules import each other, even through others. Imports inside
functions count too: a late import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Top to bottom; a module belongs to the layer of the longest package that holds it (``c360`` itself,
#: the package's ``__init__``, holds only itself: it re-exports the DB-API).
LAYERS = (
    ("front doors", ("c360.__main__", "c360.cli", "c360.server", "c360.app", "c360.sqlalchemy_dialect")),
    ("the DB-API and the jobs", ("c360", "c360.dbapi", "c360.stream", "c360.generate", "c360.acceleration.refresh",
                                 "c360.acceleration.schedule", "c360.acceleration.status",
                                 "c360.export", "c360.spark")),
    ("the engine", ("c360.engine", "c360.channel", "c360.introspect", "c360.reductions", "c360.explain",
                    "c360.postgres", "c360.pg_formats", "c360.pg_regexp", "c360.acceleration.direct",
                    "c360.acceleration.joined", "c360.acceleration.run")),
    ("planning", ("c360.planner", "c360.views", "c360.functions", "c360.acceleration.choose")),
    ("the catalog and the model", ("c360.catalog", "c360.model", "c360.acceleration")),
    ("connectors", ("connectors",)),
    ("foundations", ("c360.errors", "c360.types", "c360.secrets", "c360.settings", "c360.policy", "c360.browsing",
                     "c360.lockdown")),
)


def module_files() -> dict[str, Path]:
    found = {}
    for package in ("c360", "connectors"):
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = module_files()


def imported(name: str, path: Path) -> set[str]:
    """The project modules ``name`` imports, at the top or inside functions."""
    targets = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = alias.name
                while target and target not in MODULES:
                    target = target.rpartition(".")[0]
                targets.add(target)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                base = f"{anchor}.{base}".rstrip(".")
            for alias in node.names:
                full = f"{base}.{alias.name}"
                targets.add(full if full in MODULES else base)
    return {t for t in targets if t in MODULES and t != name}


GRAPH = {name: imported(name, path) for name, path in MODULES.items()}


def layer(name: str) -> int:
    best = None
    for depth, (_title, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if name == prefix or (prefix != "c360" and name.startswith(prefix + ".")):
                if best is None or len(prefix) > best[1]:
                    best = (depth, len(prefix))
    assert best is not None, f"{name} is in no layer of tests/test_architecture.py (and docs/architecture.md)"
    return best[0]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_a_module_imports_only_its_own_layer_or_the_layers_below(name):
    upward = sorted(target for target in GRAPH[name] if layer(target) < layer(name))
    assert not upward, f"{name} ({LAYERS[layer(name)][0]}) imports upward: {upward}"


def test_no_modules_import_each_other():
    index, low, stack, on_stack, loops, counter = {}, {}, [], set(), [], [0]

    def visit(node):  # Tarjan's strongly connected components
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(GRAPH[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                loops.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    assert not loops, f"modules that import each other: {loops}"


def test_the_check_sees_late_imports():
    assert "c360.model.scorer" in GRAPH["c360.model.training"]  # imported inside a function
    assert "c360.planner.parse" in GRAPH["c360.planner.fold_constants"]
