"""numpy forms of the bf16 fast path's packing and products (dialects/graph/bf16.py): the
build-time weight packing graph-pack-bf16 uses, and the reference executor's evaluators."""

from collections.abc import Callable

import numpy as np
from xdsl.ir import Operation

from ziggurat.core.int8_reference import blocked_through_plain, window_sums
from ziggurat.dialects import graph

BF16_PER_WORD = 2


def pack_bf16x2(x: np.ndarray, axis: int) -> np.ndarray:
    """bf16 values (given as any float array; f32 values are truncated to their upper 16
    bits, exact for bf16 values) along `axis` two to an int32, entry 2j in the low half of
    word j, the last word padded with zero."""
    halves = (np.asarray(x, np.float32).view(np.uint32) >> 16).astype(np.uint16)
    moved = np.moveaxis(halves, axis, -1)
    extra = -moved.shape[-1] % BF16_PER_WORD
    padded = np.pad(moved, [(0, 0)] * (moved.ndim - 1) + [(0, extra)])
    words = np.ascontiguousarray(padded).view("<i4")
    return np.ascontiguousarray(np.moveaxis(words, -1, axis))


def unpack_bf16x2(words: np.ndarray, axis: int) -> np.ndarray:
    """The bf16 halves of int32 words as float32 entries along `axis` (two per word)."""
    moved = np.ascontiguousarray(np.moveaxis(words.astype("<i4"), axis, -1))
    halves = moved.view(np.uint16).astype(np.uint32) << 16
    return np.moveaxis(halves.view(np.float32), -1, axis)


def _conv(op: graph.ConvBf16Op, x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    data, kernel = unpack_bf16x2(x, 1), unpack_bf16x2(w, 1)
    out = window_sums(op, data, kernel, 0, np.float32)
    return out + b.astype(np.float32).reshape(1, -1, *([1] * (x.ndim - 2)))


def _conv_nchwc(
    op: graph.ConvBf16NchwcOp, x: np.ndarray, w: np.ndarray, b: np.ndarray
) -> np.ndarray:
    """The blocked convolution through the plain one (core/int8_reference.py's unblocking)."""
    return blocked_through_plain(_conv, op, x, w, b)


def _matmul(op: graph.MatmulBf16Op, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return unpack_bf16x2(a, a.ndim - 1) @ unpack_bf16x2(b, 0)


BF16_EVALUATORS: dict[type[Operation], Callable[..., np.ndarray]] = {
    graph.PackBf16x2Op: lambda op, x: pack_bf16x2(x, op.axis.value.data),
    graph.ConvBf16Op: _conv,
    graph.ConvBf16NchwcOp: _conv_nchwc,
    graph.MatmulBf16Op: _matmul,
}
