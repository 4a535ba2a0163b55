"""numpy forms of the int8 fast path's packing and products (dialects/graph/int8.py): the
build-time weight packing graph-fuse-qdq uses, and the reference executor's evaluators."""

from collections.abc import Callable

import numpy as np
from xdsl.ir import Operation

from ziggurat.dialects import graph
from ziggurat.dialects.graph.conv import WeightedWindowOp, conv_shape

BYTES_PER_WORD = 4


def pack_u8x4(x: np.ndarray, axis: int) -> np.ndarray:
    """Bytes along `axis` four to an int32 (entry 4j+t in byte t of word j), the last word
    padded with zero bytes; int8 entries become uint8 by +128, uint8 entries stay."""
    values = x.astype(np.int64) + (128 if x.dtype == np.int8 else 0)
    return _words(values.astype(np.uint8), axis)


def pack_s8x4(w: np.ndarray, axis: int) -> np.ndarray:
    """Signed bytes along `axis` four to an int32, as `pack_u8x4` lays them out."""
    return _words(w.astype(np.int8).view(np.uint8), axis)


def _words(data: np.ndarray, axis: int) -> np.ndarray:
    moved = np.moveaxis(data, axis, -1)
    extra = -moved.shape[-1] % BYTES_PER_WORD
    padded = np.pad(moved, [(0, 0)] * (moved.ndim - 1) + [(0, extra)])
    words = np.ascontiguousarray(padded).view("<i4")
    return np.ascontiguousarray(np.moveaxis(words, -1, axis))


def unpack_bytes(words: np.ndarray, axis: int, signed: bool) -> np.ndarray:
    """The bytes of int32 words as int64 entries along `axis` (four per word)."""
    moved = np.ascontiguousarray(np.moveaxis(words.astype("<i4"), axis, -1))
    data = moved.view(np.int8 if signed else np.uint8).astype(np.int64)
    return np.moveaxis(data, -1, axis)


def window_sums(
    op: WeightedWindowOp, data: np.ndarray, kernel: np.ndarray, fill: int, dtype: type
) -> np.ndarray:
    """The unpacked convolution of `op` (no bias) in `dtype`, padding with `fill`: one
    einsum per tap over strided views of the padded input (shared by the packed products'
    evaluators)."""
    spatial = data.ndim - 2
    pads = op.pad_values
    padded = np.pad(
        data,
        [(0, 0), (0, 0), *((pads[d], pads[spatial + d]) for d in range(spatial))],
        constant_values=fill,
    )
    out_shape = conv_shape(data.shape, kernel.shape, op.stride_values, pads, op.dilation_values, 1)
    out: np.ndarray = np.zeros(out_shape, dtype)
    for tap in np.ndindex(*kernel.shape[2:]):
        index = tuple(
            slice(
                tap[d] * op.dilation_values[d],
                tap[d] * op.dilation_values[d] + (out_shape[2 + d] - 1) * op.stride_values[d] + 1,
                op.stride_values[d],
            )
            for d in range(spatial)
        )
        view = padded[(slice(None), slice(None), *index)]
        out += np.einsum("nc...,fc->nf...", view, kernel[(slice(None), slice(None), *tap)])
    return out


def _conv(op: graph.ConvU8S8Op, x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    data, kernel = unpack_bytes(x, 1, False), unpack_bytes(w, 1, True)
    out = window_sums(op, data, kernel, op.pad_byte.value.data, np.int64)
    out += b.astype(np.int64).reshape(1, -1, *([1] * (x.ndim - 2)))
    return _wrapped(out)


def blocked_through_plain(
    plain: Callable[..., np.ndarray], op: Operation, x: np.ndarray, w: np.ndarray, b: np.ndarray
) -> np.ndarray:
    """A blocked packed convolution through `plain`, the NCHW one: words and weight
    unblocked, the result blocked again."""
    n, blocks, h, v, words = x.shape
    words_nchw = x.transpose(0, 1, 4, 2, 3).reshape(n, blocks * words, h, v)
    f_blocks, _, kh, kw, _, out_block = w.shape
    weight = w.transpose(0, 5, 1, 4, 2, 3).reshape(f_blocks * out_block, blocks * words, kh, kw)
    out = plain(op, words_nchw, weight, b)
    _, _, oh, ow = out.shape
    return out.reshape(n, f_blocks, out_block, oh, ow).transpose(0, 1, 3, 4, 2).copy()


def _conv_nchwc(
    op: graph.ConvU8S8NchwcOp, x: np.ndarray, w: np.ndarray, b: np.ndarray
) -> np.ndarray:
    return blocked_through_plain(_conv, op, x, w, b)


def _matmul(op: graph.MatmulU8S8Op, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return _wrapped(unpack_bytes(a, a.ndim - 1, False) @ unpack_bytes(b, 0, True))


def _wrapped(values: np.ndarray) -> np.ndarray:
    """int64 values wrapped to int32, as the kernels' accumulators wrap."""
    return values.astype(np.int32)


INT8_EVALUATORS: dict[type[Operation], Callable[..., np.ndarray]] = {
    graph.PackU8x4Op: lambda op, x: pack_u8x4(x, op.axis.value.data),
    graph.ConvU8S8Op: _conv,
    graph.ConvU8S8NchwcOp: _conv_nchwc,
    graph.MatmulU8S8Op: _matmul,
}
