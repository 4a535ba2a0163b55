"""The one xDSL context every tool of Ziggurat parses, verifies and runs passes with.

`CompilerContext` adds the params store (weight name -> numpy array) to xDSL's context, since
passes receive only (ctx, module): passes that fold or pre-pack weights read and write it there.
"""

from dataclasses import dataclass, field
from io import StringIO

import numpy as np
from xdsl.context import Context
from xdsl.dialects.arith import Arith
from xdsl.dialects.builtin import Builtin
from xdsl.dialects.cf import Cf
from xdsl.dialects.func import Func
from xdsl.dialects.llvm import LLVM
from xdsl.dialects.math import Math
from xdsl.dialects.memref import MemRef
from xdsl.dialects.scf import Scf
from xdsl.dialects.vector import Vector
from xdsl.ir import Operation
from xdsl.printer import Printer

from ziggurat.core.registry import PLUGIN_DIALECTS
from ziggurat.dialects.bf16 import Bf16
from ziggurat.dialects.flow import Flow
from ziggurat.dialects.graph import Graph
from ziggurat.dialects.int8 import Int8
from ziggurat.dialects.sched import Sched
from ziggurat.dialects.target import Target
from ziggurat.dialects.te import TE

OWN_DIALECTS = (Graph, TE, Sched, Target, Flow, Int8, Bf16)
"""Ziggurat's dialects, one per level, top to bottom, then control flow over buffers, then the
int8 and bf16 kernels' scalar ops."""

STANDARD_DIALECTS = (Builtin, Func, Arith, Math, MemRef, Scf, Cf, Vector, LLVM)
"""xDSL's dialects that the levels use for scalars, control flow and the LLVM exit."""


@dataclass
class CompilerContext(Context):
    params: dict[str, np.ndarray] = field(default_factory=dict[str, np.ndarray])

    def clone(self) -> "CompilerContext":
        base = super().clone()
        return CompilerContext(
            base.allow_unregistered,
            base._loaded_dialects,  # pyright: ignore[reportPrivateUsage]
            base._loaded_ops,  # pyright: ignore[reportPrivateUsage]
            base._loaded_attrs,  # pyright: ignore[reportPrivateUsage]
            base._loaded_types,  # pyright: ignore[reportPrivateUsage]
            base._registered_dialects,  # pyright: ignore[reportPrivateUsage]
            dict(self.params),
        )


def make_context(params: dict[str, np.ndarray] | None = None) -> CompilerContext:
    """A context with xDSL's dialects the levels use, Ziggurat's, and plugins' dialects."""
    ctx = CompilerContext(params=dict(params or {}))
    for dialect in (*STANDARD_DIALECTS, *OWN_DIALECTS, *PLUGIN_DIALECTS):
        ctx.load_dialect(dialect)
    return ctx


def ir_text(op: Operation) -> str:
    """The custom-syntax text of an op (a whole module, usually), ending in a newline."""
    stream = StringIO()
    Printer(stream=stream).print_op(op)
    return stream.getvalue() + "\n"


def params_of(ctx: Context) -> dict[str, np.ndarray]:
    """The params store of a context; a plain xDSL context gets an empty one of its own."""
    if isinstance(ctx, CompilerContext):
        return ctx.params
    return {}


def fresh_param_name(params: dict[str, np.ndarray], stem: str) -> str:
    """A params-store name starting with `stem` that no weight uses yet."""
    n = 0
    while f"{stem}_{n}" in params:
        n += 1
    return f"{stem}_{n}"
