"""`ziggurat.build`: a graph-dialect module and its params to a runnable `runtime.Module`.

The road: graph passes for the opt_level, graph -> te -> sched -> target, then the backend
(`ziggurat.backend.compile`: the execution plan, LLVM, machine code), where `build` lives
so the tuner can build whole models too.
"""

from ziggurat.backend.compile import build

__all__ = ["build"]
