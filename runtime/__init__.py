"""Ziggurat's runtime: runs compiled models on numpy arrays.

    lib = ziggurat.build(mod, target="llvm -mcpu=native", params=params)   # a Module
    m = GraphModule(lib)
    m.set_input("data", x); m.run(); y = m.get_output(0)
    outputs = lib.run({"data": x})             # stateless: many threads may call it at once
    print(m.benchmark(repeat=100)); print(m.profile())
    lib.export_library("model.zgt")            # one file: shared object, plan, params
    m2 = GraphModule(load_module("model.zgt"))  # no compiler needed
    # a model compiled per input shapes exports its declared profiles, served as a
    # ProfiledModule: lib.export_library("model.zgt", shapes=[{"x": (1, 16)}, {"x": (1, 32)}])

Imports numpy, ctypes and the standard library only, so a compiled model runs where the
compiler (xDSL, llvmlite, onnx) is not installed.
"""

from ziggurat.runtime.benchmark import BenchmarkResult
from ziggurat.runtime.errors import (
    HostMismatchError,
    LinkError,
    PackageError,
    PlanError,
    ResourceLimitError,
    RunError,
    RuntimeInputError,
    RuntimeModuleError,
)
from ziggurat.runtime.graph_executor import GraphModule
from ziggurat.runtime.loader import load_module
from ziggurat.runtime.memory import MemoryReport
from ziggurat.runtime.module import Module
from ziggurat.runtime.profiled_module import ProfiledModule
from ziggurat.runtime.profiler import ProfileReport
from ziggurat.runtime.threads import release_kernel_threads, set_kernel_threads

__all__ = [
    "BenchmarkResult",
    "GraphModule",
    "HostMismatchError",
    "LinkError",
    "MemoryReport",
    "Module",
    "PackageError",
    "PlanError",
    "ProfiledModule",
    "ProfileReport",
    "RuntimeInputError",
    "ResourceLimitError",
    "RunError",
    "RuntimeModuleError",
    "load_module",
    "release_kernel_threads",
    "set_kernel_threads",
]
