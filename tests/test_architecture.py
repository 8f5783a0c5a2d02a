"""The shape of the code, read with ``ast`` (nothing is imported): no import cycles, no
imports hidden inside functions, training free of Django, and who may import whom.

The graph covers annotate/, modelserve/ and config/ (migrations aside) and counts every
import statement: module level, inside functions and inside classes. Imports under
``if TYPE_CHECKING:`` never run and are left out. A relative import is resolved against
the importing module; ``from package import name`` points at ``package.name`` when that
is a module, else at the package.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("annotate", "modelserve", "config")

# The only imports allowed inside a function: optional heavy dependencies, each with a
# comment saying so (torch and friends cost seconds and hundreds of MB, and a web process
# imports the modules that use them without ever needing them). modelserve.training
# imports torch at module level, so importing it counts as importing torch.
HEAVY_OPTIONAL = ("torch", "transformers", "ctranslate2", "modelserve.training")

# Where the core flow (annotate) builds on generation or learning, so it imports modelserve
# at module level; the README's Architecture section says why for each. Anything else in
# annotate that needs model serving listens to annotate.events instead.
ANNOTATE_MAY_IMPORT_MODELSERVE = {
    # Live conversations are generation: a user turn creates generation requests.
    "annotate.services.conversation",
    "annotate.selectors.conversation",
    # The demo seeds a live model pool (the packaged SmolLM2 endpoints).
    "annotate.services.demo",
    # The REST surface of the model registry, versions and refit settings.
    "annotate.api.serializers",
    "annotate.api.serializers_registry",
    "annotate.api.views.registry",
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the resolved module imported (ours), or the dotted name (others)
    line: int
    text: str
    in_function: str  # "" at module level, else the innermost function's name
    in_class: str  # the innermost enclosing class, if any


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _resolve(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """Dotted names imported by ``node``: our modules where they resolve, else as written."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            parts = module.split(".")
            if MODULES[module].name != "__init__.py":
                parts = parts[:-1]  # a module's package
            parts = parts[: len(parts) - (node.level - 1)]
            base = ".".join([*parts, base] if base else parts)
        names = [
            f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
            for alias in node.names
        ]
    out = []
    for name in names:
        ours = name
        while ours and ours not in MODULES:
            ours = ours.rpartition(".")[0]
        out.append(ours or name)
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports() -> list[Import]:
    found: list[Import] = []
    for module, path in MODULES.items():
        source = path.read_text()

        def walk(
            node: ast.AST, function: str, cls: str, module: str = module, source: str = source
        ) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.If) and _is_type_checking(child.test):
                    for other in child.orelse:
                        walk(other, function, cls)
                    continue
                if isinstance(child, ast.Import | ast.ImportFrom):
                    text = ast.get_source_segment(source, child) or ""
                    for target in _resolve(module, child):
                        found.append(Import(module, target, child.lineno, text, function, cls))
                elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                    walk(child, child.name, cls)
                elif isinstance(child, ast.ClassDef):
                    walk(child, function, child.name)
                else:
                    walk(child, function, cls)

        walk(ast.parse(source), "", "")
    return found


IMPORTS = _imports()


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for imp in IMPORTS:
        if imp.target in MODULES and imp.target != imp.module:
            graph[imp.module].add(imp.target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(set(graph) | {t for ts in graph.values() for t in ts}):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
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
    return found


def _has_comment(module: str, line: int) -> bool:
    """A comment on the import's own line, or in the run of import, comment and blank
    lines right above it (one comment may cover a block of imports)."""
    lines = MODULES[module].read_text().splitlines()
    n = line - 1
    if "#" in lines[n]:
        return True
    n -= 1
    while n >= 0:
        text = lines[n].strip()
        if text.startswith("#"):
            return True
        if text and not text.startswith(("from ", "import ")) and not text.endswith((",", "(")):
            return False
        n -= 1
    return False


def _is_app_ready(imp: Import) -> bool:
    """Django's documented hook: apps.py is imported while the app registry loads, so an
    AppConfig.ready() is where listener and model-importing modules are imported."""
    return imp.module.endswith(".apps") and imp.in_function == "ready" and bool(imp.in_class)


def test_the_graph_is_what_we_think_it_is():
    # Guards the reader itself: a regression here would make the checks below vacuous.
    assert len(MODULES) > 100
    graph = _graph()
    assert "modelserve.generation.requests" in graph["annotate.services.conversation"]
    assert "annotate.services.items" in graph["modelserve.generation.finish"]
    made_up = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    assert cycles(made_up) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    found = cycles(_graph())
    assert found == [], "import cycles (strongly connected modules):\n" + "\n".join(
        " <-> ".join(c) for c in found
    )


def test_imports_inside_functions_are_heavy_optional_dependencies_with_a_comment():
    bad: list[str] = []
    for imp in IMPORTS:
        if not imp.in_function or _is_app_ready(imp):
            continue
        heavy = any(
            imp.target == name or imp.target.startswith(name + ".") for name in HEAVY_OPTIONAL
        )
        if not heavy:
            bad.append(f"{imp.module}:{imp.line} {imp.text} (not a heavy optional dependency)")
        elif not _has_comment(imp.module, imp.line):
            bad.append(f"{imp.module}:{imp.line} {imp.text} (no comment saying why)")
    assert bad == [], "imports inside functions:\n" + "\n".join(sorted(set(bad)))


def test_app_ready_hooks_explain_their_imports():
    for imp in IMPORTS:
        if _is_app_ready(imp):
            assert _has_comment(imp.module, imp.line), f"{imp.module}:{imp.line} {imp.text}"


def test_training_is_pure_torch():
    """modelserve.training imports no Django and none of our apps' code but its own."""
    bad = [
        f"{imp.module}:{imp.line} {imp.text}"
        for imp in IMPORTS
        if imp.module.startswith("modelserve.training")
        and (
            imp.target.split(".")[0] in ("django", "rest_framework", "celery", "annotate", "config")
            or (
                imp.target.startswith("modelserve")
                and not imp.target.startswith("modelserve.training")
            )
        )
    ]
    assert bad == []


def test_core_flow_imports_modelserve_only_where_it_builds_on_generation():
    importing = {
        imp.module
        for imp in IMPORTS
        if imp.module.startswith("annotate") and imp.target.startswith("modelserve")
    }
    assert importing <= ANNOTATE_MAY_IMPORT_MODELSERVE, sorted(
        importing - ANNOTATE_MAY_IMPORT_MODELSERVE
    )


def test_generation_does_not_depend_on_learning():
    bad = [
        f"{imp.module}:{imp.line} {imp.text}"
        for imp in IMPORTS
        if imp.module.startswith("modelserve.generation")
        and imp.target.startswith(("modelserve.learning", "modelserve.training"))
    ]
    assert bad == []


@pytest.mark.parametrize("package", ["annotate", "modelserve", "config"])
def test_no_module_is_past_the_size_limit(package):
    """DESIGN.md: split a module past ~400 lines (the few data tables above it are named)."""
    allowed = {
        "annotate/countries.py",  # a table of ISO countries
        "annotate/demo_content.py",  # the demo's texts
    }
    long = [
        f"{path.relative_to(ROOT)}: {n}"
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
        and str(path.relative_to(ROOT)) not in allowed
        and (n := len(path.read_text().splitlines())) > 450
    ]
    assert long == []
