"""graph-pack-bf16: the products of `ziggurat.quantize(..., scheme="bf16")` as `vdpbf16ps`
kernels on bf16 pairs packed to an i32 (dialects/graph/bf16.py, lowering/dot2.py).

A graph.conv (one group) or graph.matmul (its right operand 2-D) whose data operand is an f32
rounded to bf16 and back (graph.cast to bf16, then to f32) and whose weight is a graph.cast
to f32 of a constant bf16 tensor becomes:
- the data packed at run time along its channel (conv) or last (matmul) axis, two bf16 per
  i32 (`graph.pack_bf16x2`, odd extents padded with 0);
- the weight packed at build time along its input-channel axis (a matmul's as [K/2, N]);
- graph.conv_bf16 / graph.matmul_bf16, f32 reductions of `bf16.dot2`.
The numbers are the scheme's: each bf16 x bf16 product is exact in f32, the sums are f32
(in another order). Statistics: `bf16-convs`, `bf16-matmuls`.

Convolutions where the f32 kernels are faster stay f32 products of the rounded operands (the
same numbers): those with fewer than `min-channels` input channels (the RGB stem: 3 channels
fill 2 words of 4 bf16 and its 7x7 taps pay a bounds check each), and the 3x3 stride-1
convolutions with outputs of at least `winograd-extent` rows, which graph-winograd computes with
2.25x fewer multiplies than vdpbf16ps's 2x can make up for (ResNet-18 on one core: 56x56 at
64 channels 0.36 ms in Winograd against 0.64 ms packed; 14x14 even; 7x7 packed 1.8x faster).

Runs on the graph dialect before graph-fold-constants (which would fold the weight's cast);
needs the params store.
"""

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import BFloat16Type, ModuleOp, f32
from xdsl.ir import SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import Rewriter

from ziggurat.core import statistics
from ziggurat.core.bf16_reference import pack_bf16x2
from ziggurat.core.context import params_of
from ziggurat.dialects import graph
from ziggurat.passes.graph.constants import constant_value, make_constant


def _widened_from_bf16(value: SSAValue) -> SSAValue | None:
    """The bf16 value `value` widens to f32 by a graph.cast, or None."""
    op = value.owner
    if not isinstance(op, graph.CastOp) or graph.element_type_of(value) != f32:
        return None
    if not isinstance(graph.element_type_of(op.input), BFloat16Type):
        return None
    return op.input


def _rounded_data(value: SSAValue) -> bool:
    """Whether `value` is an f32 rounded to bf16 and back."""
    narrow = _widened_from_bf16(value)
    return narrow is not None and isinstance(narrow.owner, graph.CastOp)


def _bf16_weight(value: SSAValue, params: dict[str, np.ndarray]) -> np.ndarray | None:
    """The constant bf16 weight `value` widens, as f32, or None."""
    narrow = _widened_from_bf16(value)
    if narrow is None:
        return None
    weight = constant_value(narrow, params)
    return None if weight is None else weight.astype(np.float32)


def _packing_pays(op: graph.ConvOp, min_channels: int, winograd_extent: int) -> bool:
    """Whether vdpbf16ps beats the f32 kernels on `op` (see the module doc)."""
    if graph.tensor_shape(op.input)[1] < min_channels:
        return False
    kernel = graph.tensor_shape(op.weight)[2:]
    winograd = (
        list(kernel) == [3, 3]
        and set(op.stride_values) == {1}
        and set(op.dilation_values) == {1}
        and graph.tensor_shape(op.result)[2] >= winograd_extent
    )
    return not winograd


def _pack_conv(op: graph.ConvOp, params: dict[str, np.ndarray], pays: bool) -> bool:
    weight = _bf16_weight(op.weight, params)
    if weight is None or not _rounded_data(op.input) or op.groups.value.data != 1:
        return False
    if not pays:
        return False
    packed = graph.PackBf16x2Op(op.input, 1)
    stored = make_constant(pack_bf16x2(weight, 1), params, "packed_bf16_weight")
    window = (op.stride_values, op.pad_values, op.dilation_values)
    product = graph.ConvBf16Op(packed.result, stored.results[0], op.bias, window)
    Rewriter.replace_op(op, [packed, stored, product])
    statistics.count("bf16-convs")
    return True


def _pack_matmul(op: graph.MatmulOp, params: dict[str, np.ndarray]) -> bool:
    weight = _bf16_weight(op.rhs, params)
    if weight is None or weight.ndim != 2 or op.transpose_a is not None:
        return False
    if not _rounded_data(op.lhs) or len(graph.tensor_shape(op.lhs)) < 2:
        return False
    if op.transpose_b is not None:
        weight = weight.T
    packed = graph.PackBf16x2Op(op.lhs, len(graph.tensor_shape(op.lhs)) - 1)
    stored = make_constant(pack_bf16x2(weight, 0), params, "packed_bf16_weight")
    product = graph.MatmulBf16Op(packed.result, stored.results[0])
    Rewriter.replace_op(op, [packed, stored, product])
    statistics.count("bf16-matmuls")
    return True


@dataclass(frozen=True)
class GraphPackBf16(ModulePass):
    """Computes bf16-rounded convolutions and matmuls on packed bf16 pairs."""

    name = "graph-pack-bf16"
    min_channels: int = 16
    winograd_extent: int = 28

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        params = params_of(ctx)
        for product in [o for o in op.walk() if isinstance(o, graph.ConvOp | graph.MatmulOp)]:
            if isinstance(product, graph.ConvOp):
                pays = _packing_pays(product, self.min_channels, self.winograd_extent)
                _pack_conv(product, params, pays)
            else:
                _pack_matmul(product, params)
