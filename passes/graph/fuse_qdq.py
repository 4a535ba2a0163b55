"""graph-fuse-qdq: quantized (QDQ) models computed on integers between their Q/DQ pairs.

A QDQ model says "dequantize, compute in float, quantize"; where the float op commutes with
the quantization, or is a convolution or matmul whose operands are dequantized, the integer
computation gives the same numbers (onnxruntime's QDQ transformers make the same rewrites).

Algorithm, for each graph.quantize q, in order:
1. Move: q of a reshape, transpose, max pool, relu or clip of a graph.dequantize d whose
   per-tensor scale and zero point equal q's (and whose integer type is q's) becomes that
   op on d's integers; d stays for its other users. q is monotonic and q(d(x)) = x, so a
   relu becomes max(x, zero point) and a clip a clamp between q(min) and q(max).
2. Integer products: q (per tensor) of a graph.conv, a graph.matmul, or a graph.add of a
   graph.matmul and a bias, whose data operands are graph.dequantize of 8-bit integers with
   constant scales and zero points (per tensor for the input; per tensor or per output
   channel for the weight) and whose bias is absent (zeros) or a dequantized int32 with
   zero point 0, becomes:
       acc = conv/matmul((x - x_zp) as int32, (w - w_zp) as int32) + bias_int32
       y   = cast(round_half_even(f32(acc) * M) + y_zp)      (the cast saturates)
   with M = x_scale * w_scale / y_scale computed in f32 here, as onnxruntime's QLinearConv
   computes it: bit-exact with onnxruntime's fused kernels.
3. Statistics: `qdq-moved`, `integer-convs`, `integer-matmuls`, and
   `float-int-transitions-left` (quantize and dequantize ops left on run-time values).

Runs on the graph dialect after graph-canonicalize and before graph-fold-constants, which then
folds the weights' widening and zero points into int32 weights; needs the params store.
"""

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, f32, i32
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from ziggurat.core import statistics
from ziggurat.core.context import params_of
from ziggurat.core.reference import EVALUATORS
from ziggurat.dialects import graph
from ziggurat.passes.graph.constants import constant_value, make_constant
from ziggurat.passes.graph.qdq_int8 import packed_conv, packed_matmul

MOVABLE = (graph.ReshapeOp, graph.TransposeOp, graph.PoolOp, graph.ReluOp, graph.ClipOp)
EIGHT_BIT = ("ui8", "i8")


def folded(value: SSAValue, params: dict[str, np.ndarray], depth: int = 4) -> np.ndarray | None:
    """The array `value` holds when it is computed from constants alone (a reshaped or
    gathered scale, say), evaluated with the reference executor; None otherwise."""
    found = constant_value(value, params)
    if found is not None or depth == 0:
        return found
    owner = value.owner
    if not isinstance(owner, Operation) or type(owner) not in EVALUATORS:
        return None
    operands = [folded(v, params, depth - 1) for v in owner.operands]
    if any(o is None for o in operands):
        return None
    return np.asarray(EVALUATORS[type(owner)](owner, *operands))


class Rewrite:
    """Builds the replacement ops before `anchor`, recording them in order."""

    def __init__(self, anchor: Operation, params: dict[str, np.ndarray]):
        self.anchor, self.params = anchor, params

    def add(self, op: Operation) -> SSAValue:
        Rewriter.insert_op(op, InsertPoint.before(self.anchor))
        return op.results[0]

    def constant(self, array: np.ndarray, stem: str) -> SSAValue:
        return self.add(make_constant(np.array(array), self.params, stem))

    def widened(self, value: SSAValue, zero_point: np.ndarray) -> SSAValue:
        wide = self.add(graph.CastOp(value, i32))
        if not zero_point.any():
            return wide
        return self.add(graph.SubOp(wide, self.constant(zero_point.astype(np.int32), "zero_point")))

    def requantized(
        self, accumulator: SSAValue, multiplier: np.ndarray, quantize: graph.QuantizeOp
    ) -> SSAValue:
        scaled = self.add(
            graph.MulOp(
                self.add(graph.CastOp(accumulator, f32)),
                self.constant(multiplier.astype(np.float32), "multiplier"),
            )
        )
        rounded = self.add(graph.RoundOp(scaled))
        zero = folded(quantize.zero_point, self.params)
        assert zero is not None
        if zero.any():
            shift = self.constant(zero.astype(np.float32).reshape(()), "output_zero_point")
            rounded = self.add(graph.AddOp(rounded, shift))
        return self.add(graph.CastOp(rounded, graph.element_type_of(quantize.result)))


def _dequantized(
    value: SSAValue, params: dict[str, np.ndarray], types: tuple[str, ...] = EIGHT_BIT
) -> tuple[graph.DequantizeOp, np.ndarray, np.ndarray] | None:
    """The dequantize producing `value`, with its constant scale and zero point."""
    owner = value.owner
    if not isinstance(owner, graph.DequantizeOp):
        return None
    if str(graph.element_type_of(owner.input)) not in types:
        return None
    scale, zero = folded(owner.scale, params), folded(owner.zero_point, params)
    if scale is None or zero is None:
        return None
    return owner, scale.astype(np.float32), zero


def _per_tensor_params(
    quantize: graph.QuantizeOp, params: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray] | None:
    scale, zero = folded(quantize.scale, params), folded(quantize.zero_point, params)
    if scale is None or zero is None or scale.size != 1 or zero.size != 1:
        return None
    return scale.astype(np.float32).reshape(()), zero.reshape(())


def _move(quantize: graph.QuantizeOp, params: dict[str, np.ndarray]) -> bool:
    op = quantize.input.owner
    if not isinstance(op, MOVABLE) or not op.results[0].has_one_use():
        return False
    if isinstance(op, graph.PoolOp) and op.kind.data != "max":
        return False
    found = _dequantized(op.operands[0], params, (*EIGHT_BIT, "ui16", "i16"))
    own = _per_tensor_params(quantize, params)
    if found is None or own is None:
        return False
    dequantize, scale, zero = found
    if scale.size != 1 or zero.size != 1 or scale.reshape(()) != own[0]:
        return False
    if zero.reshape(()) != own[1] or dequantize.input.type != _with_shape(quantize, dequantize):
        return False
    rewrite = Rewrite(quantize, params)
    if isinstance(op, graph.ReluOp | graph.ClipOp):
        moved = dequantize.input
        for bound, pick in _bounds(op, own[0], zero.reshape(())):
            moved = rewrite.add(pick(moved, rewrite.constant(bound, "bound")))
    else:
        clone = op.clone()
        clone.operands[0] = dequantize.input
        Rewriter.replace_value_with_new_type(clone.results[0], quantize.result.type)
        moved = rewrite.add(clone)
    quantize.result.replace_all_uses_with(moved)
    Rewriter.erase_op(quantize)
    Rewriter.erase_op(op)
    return True


def _bounds(
    op: graph.ReluOp | graph.ClipOp, scale: np.ndarray, zero: np.ndarray
) -> list[tuple[np.ndarray, type[graph.MaxOp | graph.MinOp]]]:
    """The integer bounds a relu or clip becomes: each float bound quantized as
    graph.quantize quantizes it (infinite bounds none)."""
    if isinstance(op, graph.ReluOp):
        return [(zero, graph.MaxOp)]
    info = np.iinfo(zero.dtype)
    bounds: list[tuple[np.ndarray, type[graph.MaxOp | graph.MinOp]]] = []
    for value, pick in ((op.param("min"), graph.MaxOp), (op.param("max"), graph.MinOp)):
        if np.isfinite(value):
            step = np.rint(np.float32(value) / scale) + np.float32(zero)
            bounds.append((np.array(np.clip(step, info.min, info.max), dtype=zero.dtype), pick))
    return bounds


def _with_shape(quantize: graph.QuantizeOp, dequantize: graph.DequantizeOp) -> object:
    """The type of dequantize's input with its shape, as q's integers would have it."""
    return graph.tensor_of(
        graph.tensor_shape(dequantize.input), graph.element_type_of(quantize.result)
    )


def _integer_bias(bias: SSAValue, params: dict[str, np.ndarray]) -> tuple[SSAValue | None, bool]:
    """(the int32 bias, True) for a dequantized int32 with zero point 0; (None, True) for a
    zero constant; (None, False) for any other bias."""
    found = _dequantized(bias, params, ("i32",))
    if found is not None:
        dequantize, _, zero = found
        return (dequantize.input, True) if not zero.any() else (None, False)
    value = folded(bias, params)
    return None, value is not None and not value.any()


def _fuse_conv(quantize: graph.QuantizeOp, params: dict[str, np.ndarray]) -> bool:
    conv = quantize.input.owner
    if not isinstance(conv, graph.ConvOp) or not conv.result.has_one_use():
        return False
    x, w = _dequantized(conv.input, params), _dequantized(conv.weight, params)
    own = _per_tensor_params(quantize, params)
    if x is None or w is None or own is None or x[1].size != 1 or x[2].size != 1:
        return False
    bias, usable = _integer_bias(conv.bias, params)
    channels = graph.tensor_shape(conv.weight)[0]
    if not usable or w[1].size not in (1, channels):
        return False
    rewrite = Rewrite(quantize, params)
    constant_bias = np.zeros(channels, np.int32) if bias is None else folded(bias, params)
    accumulator = None
    if constant_bias is not None:
        accumulator = packed_conv(
            rewrite, conv, (x[0].input, x[2]), (w[0].input, w[2]), constant_bias
        )
    if accumulator is None:
        if bias is None:
            bias = rewrite.constant(np.zeros(channels, np.int32), "zero_bias")
        accumulator = rewrite.add(
            graph.ConvOp(
                rewrite.widened(x[0].input, x[2]),
                rewrite.widened(w[0].input, w[2]),
                bias,
                conv.stride_values,
                conv.pad_values,
                conv.dilation_values,
                conv.groups.value.data,
            )
        )
    spatial = len(graph.tensor_shape(conv.result)) - 2
    multiplier = (x[1].reshape(()) * w[1].reshape(-1)) / own[0]
    if multiplier.size > 1:
        multiplier = multiplier.reshape(channels, *([1] * spatial))
    _replace(quantize, rewrite.requantized(accumulator, multiplier, quantize))
    statistics.count("integer-convs")
    return True


def _matmul_and_bias(op: Operation | None) -> tuple[graph.MatmulOp, SSAValue | None] | None:
    if isinstance(op, graph.MatmulOp):
        return op, None
    if isinstance(op, graph.AddOp):
        for product, bias in ((op.lhs, op.rhs), (op.rhs, op.lhs)):
            owner = product.owner
            if isinstance(owner, graph.MatmulOp) and product.has_one_use():
                return owner, bias
    return None


def _fuse_matmul(quantize: graph.QuantizeOp, params: dict[str, np.ndarray]) -> bool:
    producer = quantize.input.owner
    found = _matmul_and_bias(producer if isinstance(producer, Operation) else None)
    if found is None or not quantize.input.has_one_use():
        return False
    matmul, bias_value = found
    a, b = _dequantized(matmul.lhs, params), _dequantized(matmul.rhs, params)
    own = _per_tensor_params(quantize, params)
    if a is None or b is None or own is None or matmul.alpha is not None:
        return False
    if a[1].size != 1 or a[2].size != 1 or matmul.transpose_a is not None:
        return False
    columns = graph.tensor_shape(matmul.result)[-1]
    b_rank = len(graph.tensor_shape(matmul.rhs))
    per_column = (columns, 1) if matmul.transpose_b is not None else (1, columns)
    if b[1].size != 1 and (b_rank != 2 or b[1].shape != per_column):
        return False
    bias: SSAValue | None = None
    if bias_value is not None:
        bias, usable = _integer_bias(bias_value, params)
        if not usable:
            return False
    rewrite = Rewrite(quantize, params)
    constant_bias = None if bias is None else folded(bias, params)
    accumulator = None
    if bias is None or constant_bias is not None:
        accumulator = packed_matmul(
            rewrite, matmul, (a[0].input, a[2]), (b[0].input, b[2]), constant_bias
        )
    if accumulator is None:
        product = graph.MatmulOp(
            rewrite.widened(a[0].input, a[2]),
            rewrite.widened(b[0].input, b[2]),
            transpose_b=matmul.transpose_b is not None,
        )
        accumulator = rewrite.add(product)
        if bias is not None:
            accumulator = rewrite.add(graph.AddOp(accumulator, bias))
    multiplier = (a[1].reshape(()) * b[1].reshape(-1)) / own[0]
    _replace(quantize, rewrite.requantized(accumulator, multiplier, quantize))
    statistics.count("integer-matmuls")
    return True


def _replace(quantize: graph.QuantizeOp, value: SSAValue) -> None:
    quantize.result.replace_all_uses_with(value)
    Rewriter.erase_op(quantize)


def _erase_unused(function: Operation) -> None:
    """Ops left without users by the rewrites (the float products and their dequantizes)."""
    changed = True
    while changed:
        changed = False
        for op in reversed(list(function.walk())):
            if isinstance(op, graph.QuantBoundaryOp | graph.ConvOp | graph.MatmulOp | graph.AddOp):
                if not any(result.uses for result in op.results):
                    Rewriter.erase_op(op)
                    changed = True


@dataclass(frozen=True)
class GraphFuseQdq(ModulePass):
    """Computes QDQ models on integers: Q/DQ moved through shape ops, max pools and relus,
    DQ -> conv/matmul -> Q made integer products with the requantization after them."""

    name = "graph-fuse-qdq"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        params = params_of(ctx)
        for quantize in [q for q in op.walk() if isinstance(q, graph.QuantizeOp)]:
            if _move(quantize, params):
                statistics.count("qdq-moved")
            elif not _fuse_conv(quantize, params):
                _fuse_matmul(quantize, params)
        _erase_unused(op)
        left = [
            q for q in op.walk()
            if isinstance(q, graph.QuantBoundaryOp) and folded(q.input, params, 0) is None
        ]  # fmt: skip
        statistics.count("float-int-transitions-left", len(left))
