"""Per-op strategies: how each graph op is computed as tensor expressions (TVM's TOPI idea).

A strategy receives the graph op and the kernel values standing for its operands, builds
te.compute ops with `te_builder` (inside an ImplicitBuilder on the kernel body) and returns
the value holding the op's result. `STRATEGIES` is the table convert-graph-to-te consults.
"""

from collections.abc import Sequence

from xdsl.ir import Operation, SSAValue

from ziggurat.core.errors import CompileError
from ziggurat.dialects import graph
from ziggurat.dialects import te_builder as tb
from ziggurat.lowering.recurrence import keep_in_kernel
from ziggurat.lowering.strategies.base import Strategy
from ziggurat.lowering.strategies.bf16 import BF16_STRATEGIES
from ziggurat.lowering.strategies.conv import (
    batch_norm,
    conv,
    conv_transpose,
    lrn,
    max_pool_indices,
    pool,
)
from ziggurat.lowering.strategies.elementwise import (
    binary,
    cast,
    clip_scalar,
    dequantize,
    gelu,
    hard_sigmoid_scalar,
    leaky_relu_scalar,
    modulo,
    prelu_scalar,
    quantize,
    scalar_param,
    unary,
)
from ziggurat.lowering.strategies.int8 import INT8_STRATEGIES
from ziggurat.lowering.strategies.layout import LAYOUT_STRATEGIES
from ziggurat.lowering.strategies.nn import layer_norm, matmul, reduce, softmax
from ziggurat.lowering.strategies.shape import (
    broadcast,
    concat,
    copy,
    equal,
    gather,
    pad,
    reshape,
    slice_,
    transpose,
    where,
)
from ziggurat.lowering.strategies.winograd import winograd_input, winograd_output

__all__ = ["STRATEGIES", "Strategy", "copy"]

STRATEGIES: dict[type[Operation], Strategy] = {
    graph.ReluOp: unary(lambda x: tb.maximum(x, tb.const_scalar(0, x.type)), "relu"),
    graph.SigmoidOp: unary(tb.sigmoid, "sigmoid"),
    graph.TanhOp: unary(tb.tanh, "tanh"),
    graph.ErfOp: unary(tb.erf, "erf"),
    graph.ExpOp: unary(tb.exp, "exp"),
    graph.LogOp: unary(tb.log, "log"),
    graph.SqrtOp: unary(tb.sqrt, "sqrt"),
    graph.NegOp: unary(tb.neg, "neg"),
    graph.ReciprocalOp: unary(lambda x: tb.div(tb.const_float(1.0), x), "reciprocal"),
    graph.RoundOp: unary(tb.round_even, "round"),
    graph.GeluOp: gelu,
    graph.QuantizeOp: quantize,
    graph.DequantizeOp: dequantize,
    graph.AddOp: binary(tb.add, "add"),
    graph.SubOp: binary(tb.sub, "sub"),
    graph.MulOp: binary(tb.mul, "mul"),
    graph.DivOp: binary(tb.div, "div"),
    graph.ModOp: modulo,
    graph.PowOp: binary(tb.pow, "pow"),
    graph.MaxOp: binary(tb.maximum, "max"),
    graph.MinOp: binary(tb.minimum, "min"),
    graph.TransposeOp: transpose,
    graph.ConcatOp: concat,
    graph.ClipOp: scalar_param(clip_scalar, "clip"),
    graph.LeakyReluOp: scalar_param(leaky_relu_scalar, "leaky_relu"),
    graph.HardSigmoidOp: scalar_param(hard_sigmoid_scalar, "hard_sigmoid"),
    graph.PReluOp: binary(prelu_scalar, "prelu"),
    graph.ConvOp: conv,
    graph.ConvTransposeOp: conv_transpose,
    graph.PoolOp: pool,
    graph.MaxPoolIndicesOp: max_pool_indices,
    graph.BatchNormOp: batch_norm,
    graph.LrnOp: lrn,
    graph.ReduceOp: reduce,
    graph.RecurrenceOp: keep_in_kernel,
    graph.SliceOp: slice_,
    graph.BroadcastOp: broadcast,
    graph.PadOp: pad,
    graph.GatherOp: gather,
    graph.WhereOp: where,
    graph.EqualOp: equal,
    graph.CastOp: cast,
    graph.LayerNormOp: layer_norm,
    graph.MatmulOp: matmul,
    graph.SoftmaxOp: softmax,
    graph.ReshapeOp: reshape,
    graph.WinogradInputOp: winograd_input,
    graph.WinogradOutputOp: winograd_output,
    **LAYOUT_STRATEGIES,
    **INT8_STRATEGIES,
    **BF16_STRATEGIES,
}


def fused(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    """A graph.fused group: each member's strategy in order, in one kernel; the computes are
    merged into one loop nest afterwards by te-inline-computes."""
    assert isinstance(op, graph.FusedOp)
    block = op.body.block
    values: dict[SSAValue, SSAValue] = dict(zip(block.args, args, strict=True))
    for inner in block.ops:
        if isinstance(inner, graph.YieldOp):
            return values[inner.values[0]]
        if isinstance(inner, graph.ConstantOp):
            values[inner.result] = graph.ConstantOp(inner.value).result
            continue
        strategy = STRATEGIES.get(type(inner))
        if strategy is None:
            raise CompileError(f"convert-graph-to-te has no strategy for {inner.name}.")
        values[inner.results[0]] = strategy(inner, [values[v] for v in inner.operands])
    raise CompileError("graph.fused body has no graph.yield.")


STRATEGIES[graph.FusedOp] = fused
