"""Reads the imports of every module in the layer folders and checks them against the order.

A layer is a top-level folder mapped to `ziggurat.<folder>` (the API folder `ziggurat/` is
`ziggurat` itself). A module may import its own layer and the layers below it, and of
third-party packages only those its layer allows; `layer_violations` names the file and line
of every import that breaks either rule, and `folder_cycles` the cycles between packages.
"""

import ast
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

API_LAYER = "ziggurat"


@dataclass(frozen=True)
class Import:
    file: Path
    line: int
    module: str


def module_name(root: Path, file: Path, layers: Sequence[str]) -> str:
    """The dotted name `file` has once installed: `ziggurat.<layer>.<path>`."""
    parts = list(file.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    if parts[0] == API_LAYER:
        return ".".join(parts)
    assert parts[0] in layers, file
    return ".".join([API_LAYER, *parts])


def imports_of(root: Path, file: Path, layers: Sequence[str]) -> Iterator[Import]:
    """Every import in the file, at any depth (imports inside functions count too), with
    relative imports made absolute."""
    name = module_name(root, file, layers)
    package = name if file.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(file.read_text(), str(file))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(file, node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            yield Import(file, node.lineno, target)


def layer_of(module: str, layers: Sequence[str]) -> str | None:
    """The layer a `ziggurat...` module belongs to; None for other packages."""
    parts = module.split(".")
    if parts[0] != API_LAYER:
        return None
    if len(parts) > 1 and parts[1] in layers and parts[1] != API_LAYER:
        return parts[1]
    return API_LAYER


def layer_violations(
    root: Path, layers: Sequence[str], third_party: Mapping[str, set[str]]
) -> list[str]:
    """One line per import against the order (`file:line: ...`), bottom layer first."""
    rank = {layer: n for n, layer in enumerate(layers)}
    stdlib = sys.stdlib_module_names
    found: list[str] = []
    for layer in layers:
        for file in sorted((root / layer).rglob("*.py")):
            for imp in imports_of(root, file, layers):
                place = f"{imp.file.relative_to(root)}:{imp.line}"
                target = layer_of(imp.module, layers)
                top = imp.module.split(".")[0]
                if target is None:
                    if top not in stdlib and top not in third_party.get(layer, set()):
                        found.append(f"{place}: layer '{layer}' may not import '{top}'")
                elif rank[target] > rank[layer]:
                    found.append(
                        f"{place}: layer '{layer}' imports {imp.module} of layer '{target}', "
                        f"which is above it"
                    )
    return found


def folder_cycles(root: Path, layers: Sequence[str]) -> list[list[str]]:
    """Cycles in the graph of packages (folders) that import one another."""
    graph: dict[str, set[str]] = {}
    for layer in layers:
        for file in (root / layer).rglob("*.py"):
            name = module_name(root, file, layers)
            package = name if file.name == "__init__.py" else name.rpartition(".")[0]
            edges = graph.setdefault(package, set())
            for imp in imports_of(root, file, layers):
                if layer_of(imp.module, layers) is None:
                    continue
                target = _package_of(root, imp.module, layers)
                if target != package and not package.startswith(target + "."):
                    edges.add(target)
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for succ in sorted(graph.get(node, ())):
            if state.get(succ) == 1:
                cycles.append([*stack[stack.index(succ) :], succ])
            elif succ not in state:
                visit(succ)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def _package_of(root: Path, module: str, layers: Sequence[str]) -> str:
    """The package (folder) holding `module`: itself if it is a package."""
    parts = module.split(".")
    folder = root / (API_LAYER if layer_of(module, layers) == API_LAYER else parts[1])
    rest = parts[1:] if folder.name == API_LAYER else parts[2:]
    for part in rest:
        if not (folder / part).is_dir():
            break
        folder = folder / part
    return module_name(root, folder / "__init__.py", layers)
