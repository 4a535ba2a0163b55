"""graph-fold-constants: evaluate ops whose operands are all constants.

Algorithm, in program order: an op whose every operand is a graph.constant or a weight with
its array in the params store is evaluated with numpy (the reference executor's semantics);
its result becomes a graph.constant when tiny, else a new weight in the params store. Ops
made foldable by an earlier fold fold too. Dead constants are left for graph-eliminate-dead.

Runs on the graph dialect, before the lowering; needs the params store (Ziggurat's context).
"""

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.rewriter import Rewriter

from ziggurat.core import statistics
from ziggurat.core.context import params_of
from ziggurat.core.reference import EVALUATORS
from ziggurat.dialects import graph
from ziggurat.passes.graph.constants import constant_value, make_constant


@dataclass(frozen=True)
class GraphFoldConstants(ModulePass):
    """Replaces ops computed from constants only by their values."""

    name = "graph-fold-constants"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        params = params_of(ctx)
        for function in op.ops:
            if not isinstance(function, func.FuncOp) or not function.body.blocks:
                continue
            for inner in list(function.body.block.ops):
                if type(inner) not in EVALUATORS or not inner.operands:
                    continue
                arrays = [constant_value(v, params) for v in inner.operands]
                if any(a is None for a in arrays):
                    continue
                result = EVALUATORS[type(inner)](inner, *arrays)
                element = graph.element_type_of(inner.results[0])
                dtype = next(n for n, t in graph.NUMPY_ELEMENT_TYPES.items() if t == element)
                folded = make_constant(result.astype(dtype), params, "folded")
                Rewriter.replace_op(inner, folded)
                statistics.count("ops-folded")
