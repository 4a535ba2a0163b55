"""The runtime must load where only numpy is installed: it imports nothing of the compiler."""

import ast
import subprocess
import sys
from pathlib import Path

import ziggurat.runtime

RUNTIME_DIR = Path(ziggurat.runtime.__file__).parent
ALLOWED_THIRD_PARTY = {"numpy", "ml_dtypes"}
"""ml_dtypes only as an optional import (runtime/dtypes.py): it names bfloat16 for numpy."""


def _imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: relative import"
            modules.add(node.module or "")
    return modules


def test_runtime_sources_import_only_numpy_and_the_standard_library() -> None:
    sources = sorted(RUNTIME_DIR.glob("*.py"))
    assert len(sources) >= 5
    for path in sources:
        for module in _imported_modules(path):
            top = module.split(".")[0]
            allowed = (
                top in sys.stdlib_module_names
                or top in ALLOWED_THIRD_PARTY
                or module.startswith("ziggurat.runtime")
            )
            assert allowed, f"runtime/{path.name} imports {module}"


def test_import_pulls_in_no_compiler() -> None:
    code = (
        "import sys, ziggurat.runtime\n"
        "from ziggurat.runtime import GraphModule, Module\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('xdsl', 'llvmlite', 'onnx')"
        " or m.startswith('ziggurat.') and not m.startswith('ziggurat.runtime')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
