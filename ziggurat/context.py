"""The one xDSL context every tool of Ziggurat parses and verifies with."""

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

from ziggurat.dialects.graph import Graph
from ziggurat.dialects.sched import Sched
from ziggurat.dialects.target import Target
from ziggurat.dialects.te import TE

OWN_DIALECTS = (Graph, TE, Sched, Target)
"""Ziggurat's dialects, one per level, top to bottom."""

STANDARD_DIALECTS = (Builtin, Func, Arith, Math, MemRef, Scf, Cf, Vector, LLVM)
"""xDSL's dialects that the levels use for scalars, control flow and the LLVM exit."""


def make_context() -> Context:
    ctx = Context()
    for dialect in (*STANDARD_DIALECTS, *OWN_DIALECTS):
        ctx.load_dialect(dialect)
    return ctx
