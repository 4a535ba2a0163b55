"""Ziggurat: a deep-learning compiler whose every level is an xDSL dialect.

    mod, params = ziggurat.from_onnx(onnx.load("model.onnx"), shape={"data": (1, 3, 224, 224)})
    lib = ziggurat.build(mod, target="llvm -mcpu=native", params=params, opt_level=3)
    m = ziggurat.runtime.GraphModule(lib)
    lib.export_library("model.zgt")                  # ship it; then, without the compiler:
    m2 = ziggurat.runtime.GraphModule(ziggurat.load_module("model.zgt"))

Attributes load lazily so that `import ziggurat.runtime` pulls in numpy and nothing of the
compiler: a compiled model runs where only numpy is installed.
"""

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "from_onnx": ("ziggurat.frontend.onnx.importer", "from_onnx"),
    "build": ("ziggurat.builder", "build"),
    "quantize": ("ziggurat.quantizer", "quantize"),
    "load_module": ("ziggurat.runtime.loader", "load_module"),
    "UnsupportedOpError": ("ziggurat.core.errors", "UnsupportedOpError"),
    "ZigguratError": ("ziggurat.core.errors", "ZigguratError"),
    "ModelImportError": ("ziggurat.core.errors", "ModelImportError"),
    "CompileError": ("ziggurat.core.errors", "CompileError"),
    "runtime": ("ziggurat.runtime", None),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'ziggurat' has no attribute {name!r}")
    module_name, attr = _LAZY[name]
    module = import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
