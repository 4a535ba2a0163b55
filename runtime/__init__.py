"""Ziggurat's runtime: runs compiled models on numpy arrays.

    lib = ziggurat.build(mod, target="llvm -mcpu=native", params=params)   # a Module
    m = GraphModule(lib)
    m.set_input("data", x); m.run(); y = m.get_output(0)
    print(m.benchmark(repeat=100))

Imports numpy, ctypes and the standard library only, so a compiled model runs where the
compiler (xDSL, llvmlite, onnx) is not installed.
"""

from ziggurat.runtime.benchmark import BenchmarkResult
from ziggurat.runtime.graph_executor import GraphModule, RuntimeInputError
from ziggurat.runtime.module import Module, PlanError

__all__ = ["BenchmarkResult", "GraphModule", "Module", "PlanError", "RuntimeInputError"]
