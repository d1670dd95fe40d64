"""How geoplan's modules import each other: one direction, no cycle, no private names.

Three checks over every module under ``geoplan/``:

- the static import graph (every ``import`` in a file, at the top, inside a
  function or under ``TYPE_CHECKING``) between the parts of the package — each
  top-level module, each subpackage taken whole — has no cycle: a result
  loads its map and report, the map and report never load the result back.
  Inside a subpackage its modules may lean on each other (a registry and its
  kinds), as import-linter's layers contracts allow;
- no module imports another module's underscore name (``from .maps import
  _esc``) or reads one through a module (``engine._Cache``), and a private
  module (``analysis/_maps.py``) is imported only from inside its own package;
- each module imports on its own in a fresh interpreter, first, before any
  other geoplan module (the package ``__init__`` left out, since it would load
  its submodules in an order that hides a cycle).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "geoplan"


def _modules() -> dict[str, tuple[Path, bool]]:
    """Every module of the package: dotted name → (file, is a package)."""
    out = {}
    for f in sorted(ROOT.rglob("*.py")):
        parts = ("geoplan", *f.relative_to(ROOT).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_pkg else parts)] = (f, is_pkg)
    return out


MODULES = _modules()


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _imports(module: str) -> list[tuple[int, str, str | None, str | None]]:
    """``(line, target module, imported name or None, bound name)`` of each geoplan import."""
    f, is_pkg = MODULES[module]
    package = module if is_pkg else module.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.split(".")[0] != "geoplan":
                continue
            for alias in node.names:
                out.append((node.lineno, target, alias.name, alias.asname or alias.name))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "geoplan":
                    out.append((node.lineno, alias.name, None, alias.asname))
    return out


def _graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for m in MODULES:
        out = set()
        for _, target, name, _bound in _imports(m):
            sub = f"{target}.{name}" if name else None
            if sub in MODULES:
                out.add(sub)
            elif target in MODULES:
                out.add(target)
        out -= {m, "geoplan"}  # the package's __init__ only re-exports
        edges[m] = out
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
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
                found.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_check_is_written_one_way() -> None:
    """What issue 12 named: result → maps / report → result. Now only result → them."""
    edges = _graph()
    for page in ("geoplan.maps", "geoplan.report", "geoplan.pages", "geoplan.checkdata"):
        assert "geoplan.result" not in edges[page], page
        assert "geoplan.scale" not in edges[page], page
    # what the pages read of a check sits below them (it names a rule pack and a
    # workspace in type hints only, and the rule kinds' comparators), its rich display
    # pieces, and the shared helpers below everything
    assert edges["geoplan.checkdata"] <= {"geoplan.core", "geoplan.rules", "geoplan.workspace",
                                          "geoplan.rules.registry", "geoplan.display"}
    for low in ("geoplan.core", "geoplan.pages", "geoplan.gpkgsafe", "geoplan.tomlfiles"):
        assert not edges[low], (low, edges[low])
    assert edges["geoplan.display"] <= {"geoplan.core"}
    assert edges["geoplan.outputs"] <= {"geoplan.errors"}


def _part(module: str) -> str:
    """The part of the package a module belongs to: ``geoplan.rules.pack`` → ``geoplan.rules``."""
    return ".".join(module.split(".")[:2])


def test_no_import_cycle_between_the_parts_of_the_package() -> None:
    parts: dict[str, set[str]] = {}
    for m, targets in _graph().items():
        parts.setdefault(_part(m), set()).update(_part(t) for t in targets)
    for p, targets in parts.items():
        targets.discard(p)
    cycles = _cycles(parts)
    assert not cycles, "modules that import each other: " + "; ".join(
        " ↔ ".join(c) for c in cycles)


def test_no_private_name_crosses_a_module() -> None:
    bad = []
    for m in MODULES:
        f, _ = MODULES[m]
        bound_modules: dict[str, str] = {}
        for line, target, name, bound in _imports(m):
            where = f"{f.relative_to(ROOT.parent)}:{line}"
            full = f"{target}.{name}" if name else target
            if name is not None and _private(name) and full not in MODULES:
                bad.append(f"{where} imports the private name {name} from {target}")
            mod = full if full in MODULES else (target if name is None else None)
            if mod is None:
                continue
            # a private module is private to the package that holds it
            parts = mod.split(".")
            for i, part in enumerate(parts):
                owner = ".".join(parts[:i])
                if _private(part) and not (m == owner or m.startswith(owner + ".")):
                    bad.append(f"{where} imports {mod}, private to {owner}")
            if bound:
                bound_modules[bound] = mod
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in bound_modules and _private(node.attr)):
                bad.append(f"{f.relative_to(ROOT.parent)}:{node.lineno} reads "
                           f"{bound_modules[node.value.id]}.{node.attr}")
    assert not bad, "\n".join(bad)


_FRESH = r"""
import importlib, importlib.util, json, sys, types

def purge():
    for k in [k for k in sys.modules if k == "geoplan" or k.startswith("geoplan.")]:
        del sys.modules[k]

def bare_package():
    # the package without running its __init__, so that a module is truly imported first
    spec = importlib.util.find_spec("geoplan")
    pkg = types.ModuleType("geoplan")
    pkg.__path__ = list(spec.submodule_search_locations)
    pkg.__spec__ = spec
    pkg.__file__ = spec.origin
    sys.modules["geoplan"] = pkg

failed = {}
for name in json.loads(sys.argv[1]):
    purge()
    bare_package()
    try:
        importlib.import_module(name)
    except Exception as exc:  # report every module that cannot load first
        failed[name] = f"{type(exc).__name__}: {exc}"
purge()
import geoplan  # and the package as users import it
print(json.dumps(failed))
"""


@pytest.mark.slow  # imports every module in a fresh interpreter
def test_every_module_imports_first_in_a_fresh_interpreter() -> None:
    # the pages and the result first: the order in which their old cycle showed
    first = ["geoplan.report", "geoplan.maps", "geoplan.result", "geoplan.scale",
             "geoplan.dask_engine", "geoplan.engine"]
    names = [n for n in first if n in MODULES] + [
        m for m in MODULES if m not in first and m != "geoplan" and not m.endswith("__main__")]
    r = subprocess.run([sys.executable, "-c", _FRESH, json.dumps(names)], capture_output=True,
                       text=True, timeout=600, check=False)
    assert r.returncode == 0, r.stderr
    failed = json.loads(r.stdout.strip().splitlines()[-1])
    assert not failed, "\n".join(f"{k}: {v}" for k, v in failed.items())
