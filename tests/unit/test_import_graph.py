"""The allowed directions of imports, pinned: entrypoints -> services -> adapters -> settings ->
domain -> base, and nothing back up.

The graph is read from the source with ``ast`` (nothing is imported), every import counted, those
inside functions included: a lazy import is a dependency too. Only imports under ``if
TYPE_CHECKING:`` are left out (they never run). Every module must have a layer: a new module
that fits none fails here until it is placed in LAYERS.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("entrypoints", "workers", "pipeline")

# From the bottom up; the first prefix that matches a module places it (most specific first).
# A module may import its own layer and the layers below it.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "base",  # no knowledge of the domain: errors, logs, JSON text, output escaping, progress
        (
            "pipeline.errors",
            "pipeline.exit_codes",
            "pipeline.jsontext",
            "pipeline.cron",
            "pipeline.progress",
            "pipeline.logging",
            "pipeline.ops.escape",  # pure text escaping for every writer, log lines included
        ),
    ),
    (
        "domain",  # pure: records, parsing, dates, matching, classification, results; the feeds' names
        (
            "pipeline.records",
            "pipeline.normalise",
            "pipeline.parse",
            "pipeline.dates",
            "pipeline.results",
            "pipeline.dna",
            "pipeline.match",
            "pipeline.classify",
            "pipeline.reconcile",
            "pipeline.feed_registry",
        ),
    ),
    ("settings", ("pipeline.settings",)),
    ("adapters", ("pipeline.store", "pipeline.feeds")),  # the database; the agencies' HTTP feeds
    ("simulator", ("pipeline.sim",)),  # worlds, the feed simulator, the scorer: for demo, tests, bench
    (
        "services",  # the run and the operators' services over the store
        (
            "pipeline.run",
            "pipeline.no_fetch",  # a run's fetch stage done by copying the last good run's feed state
            "pipeline.snapshot",  # a run's records read back: the run and ops.discrepancies share it
            "pipeline.cancel",
            "pipeline.gates",
            "pipeline.incremental",
            "pipeline.notify",
            "pipeline.metrics",
            "pipeline.ops",
        ),
    ),
    ("entrypoints", ("entrypoints", "workers", "pipeline.web")),  # the CLI, the Celery tasks, the console
)

# Package faces that hold only a docstring: placed by their exact name (a prefix would place
# every module under them).
FACES = ("pipeline",)

# (importer prefix, imported prefix, why): forbidden although the layers would allow them.
FORBIDDEN: tuple[tuple[str, str, str], ...] = (
    ("pipeline", "workers", "pipeline must not depend on the Celery side: workers call pipeline"),
    ("pipeline", "entrypoints", "the CLI calls pipeline, never the other way"),
    ("workers", "entrypoints", "tasks call services, not the CLI"),
    ("pipeline.web", "entrypoints", "the console calls services, not the CLI"),
    ("pipeline.ops", "pipeline.run", "operators' services read the store, not the run orchestrator"),
    ("pipeline.classify", "pipeline.match", "the contract's rules must not depend on matching internals"),
    ("pipeline.store", "pipeline.feeds", "two adapters: neither knows the other"),
    ("pipeline.feeds", "pipeline.store", "two adapters: neither knows the other"),
    ("pipeline.sim", "pipeline.run", "the simulator serves worlds; entrypoints run them"),
    ("pipeline.sim", "pipeline.ops", "the simulator serves worlds; entrypoints run them"),
)
# Layers nobody below the entrypoints may import.
ENTRY_ONLY = ("pipeline.sim",)

# Edges other branches remove (named with their owner); each must still exist, so that an entry
# goes as soon as its fix lands (the test below fails on a stale one).
PENDING: dict[tuple[str, str], str] = {}


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


@cache
def modules() -> dict[str, Path]:
    """Every module of the packages, by dotted name (a package by its __init__); a compiled
    module (pipeline/match/_prescore.pyx) by its stub, which says what it imports."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        sources = list((ROOT / package).rglob("*.py"))
        sources += [p for p in (ROOT / package).rglob("*.pyi") if not p.with_suffix(".py").exists()]
        for path in sources:
            if "migrations" in path.parts:  # Alembic's scripts, run by Alembic
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _resolve(name: str) -> str | None:
    """The project module an imported name lives in (``a.b.c`` -> ``a.b`` when c is a name)."""
    known = modules()
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def _type_checking_only(tree: ast.Module) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        test = node.test if isinstance(node, ast.If) else None
        if isinstance(test, ast.Name | ast.Attribute) and ast.unparse(test).endswith("TYPE_CHECKING"):
            assert isinstance(node, ast.If)
            skip |= {id(inner) for stmt in node.body for inner in ast.walk(stmt)}
    return skip


def imports_of(module: str, source: str) -> set[str]:
    """The project modules ``module`` imports, read from its ``source``."""
    tree = ast.parse(source)
    skip = _type_checking_only(tree)
    package = module if modules().get(module, Path()).name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, up level - 1
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {target for name in names if (target := _resolve(name)) is not None}
    found.discard(module)
    return found


@cache
def graph() -> dict[str, frozenset[str]]:
    return {m: frozenset(imports_of(m, p.read_text(encoding="utf-8"))) for m, p in modules().items()}


def layer_of(module: str) -> int | None:
    """The rank of a module's layer (0 = base), None when no layer holds it."""
    if module in FACES:
        return 0
    best: tuple[int, int] | None = None  # (prefix length, rank): the most specific prefix wins
    for rank, (_name, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if _under(module, prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), rank)
    return None if best is None else best[1]


def violations(edges: dict[str, frozenset[str]]) -> Iterator[str]:
    """Every import against the layers or the forbidden pairs, as a sentence."""
    for importer, targets in sorted(edges.items()):
        for imported in sorted(targets):
            if (importer, imported) in PENDING:
                continue
            low, high = layer_of(importer), layer_of(imported)
            if low is not None and high is not None and high > low:
                yield (
                    f"{importer} ({LAYERS[low][0]}) imports {imported} ({LAYERS[high][0]}): "
                    "a layer may import only its own and those below"
                )
            for source, target, why in FORBIDDEN:
                if _under(importer, source) and _under(imported, target) and not _under(importer, target):
                    yield f"{importer} imports {imported}: {why}"
            top = len(LAYERS) - 1
            if any(_under(imported, p) for p in ENTRY_ONLY) and low not in (top, high):
                yield f"{importer} imports {imported}: only entrypoints use the simulator"


def cycles(edges: dict[str, frozenset[str]]) -> list[list[str]]:
    """The import cycles (strongly connected components of more than one module), Tarjan's way."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_every_module_has_a_layer() -> None:
    assert [m for m in modules() if layer_of(m) is None] == []


def test_imports_go_only_down_the_layers() -> None:
    assert list(violations(graph())) == []


def test_no_module_imports_itself_back() -> None:
    assert cycles(dict(graph())) == []


def test_each_pending_exception_is_still_needed() -> None:
    stale = [f"{a} -> {b}" for a, b in sorted(PENDING) if b not in graph().get(a, set())]
    assert stale == [], f"no longer imported, remove from PENDING: {stale}"


@pytest.mark.parametrize(
    ("importer", "source", "why"),
    [
        # the cycles and misplaced dependencies issue 18 names, each written back in
        ("pipeline.sim.score", "from entrypoints.cli import summary_table", "the CLI calls pipeline"),
        ("pipeline.run.distributed", "from workers.tasks import send_steps", "the Celery side"),
        ("pipeline.ops.discrepancies", "from pipeline.run import load_snapshot", "run orchestrator"),
        ("pipeline.classify", "from pipeline.match.compare import is_us", "matching internals"),
    ],
)
def test_the_named_cycles_are_caught(importer: str, source: str, why: str) -> None:
    edges = dict(graph())
    edges[importer] = edges[importer] | imports_of(importer, source)
    pending = dict(PENDING)
    PENDING.clear()
    try:
        found = list(violations(edges))
    finally:
        PENDING.update(pending)
    assert any(line.startswith(importer) and why in line for line in found), found
