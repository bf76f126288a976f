"""The layout's rules, read off the source with ``ast`` (nothing is imported):

- no import cycle among the project's modules, counting imports inside functions;
- warehouse/ draws nothing (no plotly: figures live in charts/);
- no SQL in pipeline/ (queries are named functions in warehouse/);
- inside functions, pipeline/ imports only what must stay out of ``--help`` or is heavy and optional;
- every registered command's name is its module's NAME.
"""
from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parent.parent
TOP = ("app.py", "app_pages", "pipeline", "warehouse", "derivation", "analysis", "charts", "bench")


@cache
def modules() -> dict[str, Path]:
    """Dotted module name -> file, for every project .py file."""
    found = {}
    for top in TOP:
        p = ROOT / top
        files = [p] if p.is_file() else sorted(p.rglob("*.py")) if p.is_dir() else []
        for f in files:
            parts = list(f.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = f
    return found


@cache
def tree(module: str) -> ast.Module:
    path = modules()[module]
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def _project(name: str) -> str | None:
    """The project module ``name`` is, or is in (``derivation.grade.X`` -> ``derivation.grade``)."""
    mods = modules()
    while name:
        if name in mods:
            return name
        name = name.rpartition(".")[0]
    return None


def imports(module: str) -> list[tuple[str, ast.AST]]:
    """(project module imported, the import node) for every import in ``module``, at any depth."""
    mods = modules()
    is_pkg = modules()[module].name == "__init__.py"
    package = module if is_pkg else module.rpartition(".")[0]
    out = []
    for node in ast.walk(tree(module)):
        if isinstance(node, ast.Import):
            for a in node.names:
                sibling = f"{package}.{a.name}" if package else None   # bench/ imports its scripts by bare name
                target = sibling if sibling in mods else _project(a.name)
                if target:
                    out.append((target, node))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            for a in node.names:
                target = f"{base}.{a.name}" if f"{base}.{a.name}" in mods else _project(base)
                if target:
                    out.append((target, node))
    return out


def graph() -> dict[str, set[str]]:
    return {m: {t for t, _ in imports(m) if t != m} for m in modules()}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (a path back to its start) per strongly connected component that has one."""
    index, low, stack, on, comps = {}, {}, [], set(), []

    def visit(v: str) -> None:                       # Tarjan (the graph is small: recursion is fine)
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(g[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            comps.append(comp)

    for v in sorted(g):
        if v not in index:
            visit(v)
    out = []
    for comp in comps:
        if len(comp) < 2:
            continue
        start = min(comp)
        paths, seen = {start: [start]}, {start}
        frontier = [start]
        while frontier:                              # shortest way back to start inside the component
            nxt = []
            for v in frontier:
                for w in sorted(g[v] & comp):
                    if w == start:
                        out.append(paths[v] + [start])
                        nxt = []
                        break
                    if w not in seen:
                        seen.add(w)
                        paths[w] = paths[v] + [w]
                        nxt.append(w)
                else:
                    continue
                break
            frontier = nxt
    return out


def test_the_project_is_parsed():
    mods = modules()
    assert {"pipeline.cli", "derivation.grade", "warehouse.db", "warehouse.records"} <= set(mods)
    assert ("derivation.pool", ast.ImportFrom) in {(t, type(n)) for t, n in imports("derivation.grade")}


def test_cycle_finder_finds_a_function_local_cycle():
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(g) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    found = cycles(graph())
    assert not found, "import cycles (function-local imports count):\n" + "\n".join(" -> ".join(c) for c in found)


def _absolute_imports(module: str) -> list[tuple[int, str]]:
    """(line, module name) of every absolute import in ``module``, at any depth (libraries included)."""
    out = []
    for node in ast.walk(tree(module)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            out.append((node.lineno, node.module or ""))
    return out


# what a layer may not import (HACKING.md, "Layout"): storage and SQL draw nothing; the statistics neither
# query nor draw; nothing below the app knows Streamlit
FORBIDDEN = {
    "warehouse": {"plotly", "streamlit", "derivation", "analysis", "charts", "pipeline", "app_pages"},
    "analysis": {"plotly", "streamlit", "duckdb", "charts", "pipeline", "app_pages", "warehouse.db",
                 "warehouse.frames", "warehouse.ingest"},
    "charts": {"streamlit", "pipeline", "app_pages"},
    # pure text analysis of one trajectory: of the warehouse only its vocabulary (records, errors, registry)
    "derivation": {"plotly", "streamlit", "duckdb", "polars", "analysis", "charts", "pipeline", "app_pages",
                   *(f"warehouse.{m}" for m in ("db", "ingest", "lookup", "frames", "textindex", "lake"))},
}
# the one edge up a layer: the LLM judge (an annotator) samples through a generation backend, imported
# inside the judge when it first annotates
EXCEPTIONS = {("derivation.annotators.judge", "pipeline.generation.backends")}


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_each_layer_imports_only_what_is_below_it(layer):
    bad = [f"{m}:{line} imports {name}" for m in modules() if m.split(".")[0] == layer
           for line, name in _absolute_imports(m)
           if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[layer]) and (m, name) not in EXCEPTIONS]
    assert not bad, "\n".join(bad)


_SQL = re.compile(r"\b(?:SELECT\b[\s\S]*\bFROM|INSERT\s+INTO|DELETE\s+FROM|UPDATE\s+\w+\s+SET|CREATE\s+(?:TABLE|VIEW|INDEX)"
                  r"|DROP\s+TABLE|information_schema|SET\s+\w+\s*=)\b")


def test_no_sql_in_pipeline():
    bad = []
    for m in modules():
        if m.split(".")[0] not in ("pipeline", "derivation"):
            continue
        for node in ast.walk(tree(m)):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and _SQL.search(node.value) \
                    and not _is_docstring(m, node):
                bad.append(f"{modules()[m].relative_to(ROOT)}:{node.lineno}: {node.value[:60]!r}")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    node.func.attr in ("execute", "sql", "register") and isinstance(node.func.value, ast.Name) \
                    and node.func.value.id in ("con", "conn"):
                bad.append(f"{modules()[m].relative_to(ROOT)}:{node.lineno}: {node.func.value.id}.{node.func.attr}()")
    assert not bad, "SQL in pipeline/ (put it in a named function in warehouse/):\n" + "\n".join(bad)


def _is_docstring(module: str, const: ast.Constant) -> bool:
    for node in ast.walk(tree(module)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and first.value is const:
                return True
    return False


# Imports pipeline/ may do inside a function (anything else goes to the module's top): heavy or
# optional libraries loaded only on the path that needs them, and what would slow every `--help`.
LAZY_OK = {"torch", "transformers", "vllm", "llama_cpp", "datasets", "math_verify", "inspect_ai", "pyarrow",
           "pydantic", "openai", "wordllama"}
LAZY_OK_IN = {("pipeline.ingest.benchmarks", "warehouse.ingest"),    # the CLI reads LOADERS to build its parser
              *EXCEPTIONS}                                          # the judge's backend: see EXCEPTIONS


def test_pipeline_imports_inside_functions_only_what_must_wait():
    bad = []
    for m in modules():
        if m.split(".")[0] not in ("pipeline", "derivation") or m.startswith("pipeline.commands."):  # a command's run may
            continue
        for fn in ast.walk(tree(m)):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    names = [_project(f"{node.module}.{a.name}") or node.module for a in node.names] \
                        if not node.level else ["."]
                else:
                    continue
                for n in names:
                    if n.split(".")[0] not in LAZY_OK and (m, n) not in LAZY_OK_IN:
                        bad.append(f"{m}.{fn.name}:{node.lineno} imports {n}")
    assert not bad, "function-local imports that belong at the top:\n" + "\n".join(bad)


def test_registered_commands_are_named_as_their_modules():
    from pipeline.cli import COMMANDS

    for name in COMMANDS.names():
        assert COMMANDS.get(name).NAME == name


# The rooms: each folder holds one kind of thing (HACKING.md, "Map").
ROOMS = {
    "derivation": {"grade", "steps", "answer_timeline", "arith", "embed", "pool", "poolwarm", "annotators"},
    "pipeline": {"cli", "__main__", "commands", "ingest", "generation", "derive"},
    "pipeline.ingest": {"session", "importers", "manifest", "benchmarks", "shards", "demo"},
    "pipeline.generation": {"runner", "config", "backends", "ray_exec"},
    "pipeline.derive": {"postprocess", "annotate", "processbench"},
}


@pytest.mark.parametrize("package", sorted(ROOMS))
def test_each_room_holds_its_kind(package):
    """A module added to a room that is not its kind fails here: put it in its room (or name the room's new
    kind in ROOMS and HACKING.md)."""
    folder = ROOT / package.replace(".", "/")
    found = {p.stem if p.is_file() else p.name for p in folder.iterdir()
             if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()}
    assert found == ROOMS[package], f"{package}: unexpected {sorted(found - ROOMS[package])}, " \
                                    f"missing {sorted(ROOMS[package] - found)}"


def test_module_names_are_distinct():
    """One name, one module: across the library (warehouse, derivation, analysis, charts, pipeline) no two modules
    share a name, so ``timeline`` or ``tiers`` in a sentence or an import means one file. Commands and pages are
    named after what the user types or sees (``commands/tiers.py`` is `ladder tiers`), and a plugin package's
    interface is its ``base``."""
    seen: dict[str, list[str]] = {}
    for m, path in modules().items():
        top = m.split(".")[0]
        if top not in ("warehouse", "derivation", "analysis", "charts", "pipeline") or path.name == "__init__.py" \
                or m.startswith("pipeline.commands.") or path.stem in ("base", "__main__"):
            continue
        seen.setdefault(path.stem, []).append(m)
    dup = {k: v for k, v in seen.items() if len(v) > 1}
    assert not dup, dup
