"""graph-fuse-qdq's fast path: integer products of u8 x s8 on operands packed four bytes to
an i32 (dialects/graph/int8.py), for kernels of `vpdpbusd` (lowering/dot4.py).

It applies where the weight is a constant int8 tensor with zero point 0 (symmetric, what
onnxruntime's quantize_static emits) and the activation is uint8 or int8 with one zero
point; other cases keep the widened int32 products. At build time:
- the weight is packed along its input axis (4 consecutive input channels per i32, padded
  with zero bytes), which the register-tile template then lays out as output-channel panels:
  the [N/16][K/4][16][4] layout `vpdpbusd` reads;
- int8 activations move to uint8 (+128, zero point + 128), as onnxruntime and TVM do on x86;
- the activation zero point's cross term, z_x * sum(w) per output channel, is subtracted
  from the int32 bias: sum((x - z_x) * w) = sum(x * w) - z_x * sum(w). A convolution's
  padding reads z_x, so padded taps cancel against the same term.
"""

from typing import TYPE_CHECKING

import numpy as np
from xdsl.ir import SSAValue

from ziggurat.core import statistics
from ziggurat.core.int8_reference import pack_s8x4
from ziggurat.dialects import graph
from ziggurat.passes.graph.constants import constant_value

if TYPE_CHECKING:
    from ziggurat.passes.graph.fuse_qdq import Rewrite


def _activation_zero_point(x: SSAValue, zero: np.ndarray) -> int | None:
    """The zero point of `x`'s bytes once packed as uint8, or None for another type or a
    zero point per element."""
    kind = str(graph.element_type_of(x))
    if kind not in ("ui8", "i8") or zero.size != 1:
        return None
    return int(zero.reshape(())) + (128 if kind == "i8" else 0)


def _symmetric_int8(
    w: SSAValue, zero: np.ndarray, params: dict[str, np.ndarray]
) -> np.ndarray | None:
    """The constant int8 weight behind `w` when its zero points are all 0, else None."""
    if str(graph.element_type_of(w)) != "i8" or zero.any():
        return None
    value = constant_value(w, params)
    return None if value is None else value.astype(np.int8)


def _folded_bias(bias: np.ndarray, weight_sums: np.ndarray, zero_point: int) -> np.ndarray:
    folded = bias.astype(np.int64) - zero_point * weight_sums
    return folded.astype(np.int32)


def packed_conv(
    rewrite: "Rewrite",
    conv: graph.ConvOp,
    x: tuple[SSAValue, np.ndarray],
    w: tuple[SSAValue, np.ndarray],
    bias: np.ndarray,
) -> SSAValue | None:
    """The int32 accumulator of `conv` as graph.conv_u8s8 on packed operands, or None where
    the fast path does not apply (`x` and `w` are the integer operands and zero points,
    `bias` the constant int32 bias)."""
    zero_point = _activation_zero_point(*x)
    weight = _symmetric_int8(w[0], w[1], rewrite.params)
    if zero_point is None or weight is None or conv.groups.value.data != 1:
        return None
    sums = weight.astype(np.int64).reshape(weight.shape[0], -1).sum(axis=1)
    packed = rewrite.add(graph.PackU8x4Op(x[0], 1))
    product = graph.ConvU8S8Op(
        packed,
        rewrite.constant(pack_s8x4(weight, 1), "packed_weight"),
        rewrite.constant(_folded_bias(bias, sums, zero_point), "folded_bias"),
        (conv.stride_values, conv.pad_values, conv.dilation_values),
        zero_point,
    )
    statistics.count("u8s8-convs")
    return rewrite.add(product)


def packed_matmul(
    rewrite: "Rewrite",
    matmul: graph.MatmulOp,
    a: tuple[SSAValue, np.ndarray],
    b: tuple[SSAValue, np.ndarray],
    bias: np.ndarray | None,
) -> SSAValue | None:
    """The int32 accumulator (bias added) of `matmul` as graph.matmul_u8s8 on packed
    operands, or None where the fast path does not apply; the right operand must be a 2-D
    constant."""
    zero_point = _activation_zero_point(*a)
    weight = _symmetric_int8(b[0], b[1], rewrite.params)
    if zero_point is None or weight is None or weight.ndim != 2:
        return None
    if matmul.transpose_b is not None:
        weight = weight.T
    sums = weight.astype(np.int64).sum(axis=0)
    total = np.zeros(weight.shape[1], np.int64) if bias is None else bias.reshape(-1)
    packed = rewrite.add(graph.PackU8x4Op(a[0], len(graph.tensor_shape(a[0])) - 1))
    product = rewrite.add(
        graph.MatmulU8S8Op(packed, rewrite.constant(pack_s8x4(weight, 0), "packed_weight"))
    )
    statistics.count("u8s8-matmuls")
    folded = rewrite.constant(_folded_bias(total, sums, zero_point), "folded_bias")
    return rewrite.add(graph.AddOp(product, folded))
