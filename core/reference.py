"""A numpy interpreter for the graph dialect: the oracle that pass and codegen tests compare
against, independent of every lowering."""

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Literal, TypeVar

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, StringAttr, TensorType
from xdsl.ir import Attribute, Block, Operation, SSAValue

from ziggurat.core.bf16_reference import BF16_EVALUATORS
from ziggurat.core.errors import ZigguratError
from ziggurat.core.int8_reference import INT8_EVALUATORS
from ziggurat.core.recurrence_reference import recurrence
from ziggurat.core.reference_control import CONTROL_EVALUATORS
from ziggurat.dialects import graph
from ziggurat.runtime.dtypes import dtype_named, numeric_kind
from ziggurat.runtime.execution import CHECK_PREFIX, ROWS_PREFIX


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    shifted = np.exp(x - x.max(axis=axis, keepdims=True))
    return shifted / shifted.sum(axis=axis, keepdims=True)


def _matmul(op: graph.MatmulOp, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if op.transpose_a is not None:
        a = np.swapaxes(a, -1, -2)
    if op.transpose_b is not None:
        b = np.swapaxes(b, -1, -2)
    return (np.matmul(a, b) * np.float32(op.scale)).astype(np.float32)


def _layer_norm(
    op: graph.LayerNormOp, x: np.ndarray, scale: np.ndarray, bias: np.ndarray
) -> np.ndarray:
    axes = tuple(range(op.axis.value.data, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(variance + np.float32(op.epsilon.value.data)) * scale + bias


_erf = np.vectorize(math.erf, otypes=[np.float64])


def _divide(op: graph.DivOp, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a / b as the compiled kernels divide: integers truncate toward zero, x / 0 is 0 and
    MIN / -1 wraps to MIN (see te_builder.div)."""
    if not (np.issubdtype(a.dtype, np.integer) and np.issubdtype(b.dtype, np.integer)):
        return a / b
    a, b = np.broadcast_arrays(a, b)
    safe = np.where((b == 0) | (b == -1), 1, b).astype(b.dtype)
    floor = a // safe
    rounded_down = (floor * safe != a) & ((a < 0) != (safe < 0))
    quotient = floor + rounded_down.astype(floor.dtype)
    quotient = np.where(b == -1, np.negative(a), quotient)
    return np.where(b == 0, 0, quotient).astype(a.dtype)


def _modulo(op: graph.ModOp, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The remainder as the kernels compute it (te_builder.remainder): an integer a mod 0 is
    a; floats are C's fmod or numpy's np.mod."""
    truncated = op.truncated is not None
    if np.issubdtype(a.dtype, np.floating):
        with np.errstate(invalid="ignore", divide="ignore"):
            return (np.fmod(a, b) if truncated else np.mod(a, b)).astype(a.dtype)
    a, b = np.broadcast_arrays(a, b)
    safe = np.where(b == 0, 1, b).astype(b.dtype)
    rest = np.fmod(a, safe) if truncated else np.mod(a, safe)
    return np.where(b == 0, a, rest).astype(a.dtype)


def _cast(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """x.astype(dtype) as the kernels convert: floats to integers truncate toward zero and
    saturate at the type's ends, NaN gives 0 (LLVM's fptosi.sat/fptoui.sat)."""
    if numeric_kind(x.dtype) != "f" or dtype.kind not in "iu":
        return x.astype(dtype)
    info = np.iinfo(dtype)
    wide = np.nan_to_num(x.astype(np.float64), nan=0.0, posinf=info.max, neginf=info.min)
    high = wide >= float(info.max)
    inside = np.clip(np.where(high, 0.0, wide), float(info.min), float(info.max))
    return np.where(high, info.max, inside.astype(dtype)).astype(dtype)


def _quantize(op: graph.QuantizeOp, x: np.ndarray, scale: np.ndarray, zero: np.ndarray):
    """As the kernel: the division in x's type when the scale has it, else f32."""
    working = x.dtype if scale.dtype == x.dtype else np.dtype(np.float32)
    quotient = (x.astype(working) / scale.astype(working)).astype(np.float32)
    shifted = np.rint(quotient) + zero.astype(np.float32)
    return _cast(shifted, _dtype(op.result.type))


def _dequantize(op: graph.DequantizeOp, x: np.ndarray, scale: np.ndarray, zero: np.ndarray):
    difference = (x.astype(np.int32) - zero.astype(np.int32)).astype(np.float32)
    return (difference * scale.astype(np.float32)).astype(_dtype(op.result.type))


def _power(op: graph.PowOp, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a ** b as the kernels compute it (te_builder.pow): in f64 unless both are floats of
    one type, then converted to a's type; integers truncate, and are MIN out of range."""
    if a.dtype == b.dtype and np.issubdtype(a.dtype, np.floating):
        return np.power(a, b)
    with np.errstate(all="ignore"):
        wide = np.power(a.astype(np.float64), b.astype(np.float64))
    if np.issubdtype(a.dtype, np.floating):
        return wide.astype(a.dtype)
    info = np.iinfo(a.dtype)
    in_range = (wide >= info.min) & (wide < -float(info.min))
    return np.where(in_range, np.where(in_range, wide, 0.0).astype(a.dtype), info.min)


def _gelu(op: graph.GeluOp, x: np.ndarray) -> np.ndarray:
    if op.approximate.data == "tanh":
        return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
    return 0.5 * x * (1 + _erf(x / np.sqrt(2)))


def _windows(
    x: np.ndarray,
    op: "graph.PoolOp | graph.MaxPoolIndicesOp | graph.ConvOp | _Unpadded",
    kernel: Sequence[int],
    fill: float,
) -> Iterator[tuple[tuple[int, ...], np.ndarray]]:
    """Yields (tap, view): for each kernel tap, the strided view of the padded input that the
    tap sees at every output position."""
    spatial = x.ndim - 2
    pads = op.pad_values
    padded = np.pad(
        x,
        [(0, 0), (0, 0), *((pads[d], pads[spatial + d]) for d in range(spatial))],
        constant_values=fill,
    )
    out = graph.tensor_shape(op.results[0])[2:]
    extra = [
        max(
            0,
            (out[d] - 1) * op.stride_values[d]
            + (kernel[d] - 1) * op.dilation_values[d]
            + 1
            - padded.shape[2 + d],
        )
        for d in range(spatial)
    ]
    if any(extra):
        padded = np.pad(padded, [(0, 0), (0, 0), *((0, e) for e in extra)], constant_values=fill)
    for tap in np.ndindex(*kernel):
        index = tuple(
            slice(
                tap[d] * op.dilation_values[d],
                tap[d] * op.dilation_values[d] + (out[d] - 1) * op.stride_values[d] + 1,
                op.stride_values[d],
            )
            for d in range(spatial)
        )
        yield tap, padded[(slice(None), slice(None), *index)]


def _conv(op: graph.ConvOp, x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    groups = op.groups.value.data
    out_shape = graph.tensor_shape(op.result)
    out = np.zeros(out_shape, dtype=np.float64)
    per_in, per_out = x.shape[1] // groups, w.shape[0] // groups
    for tap, view in _windows(x, op, w.shape[2:], 0.0):
        for g in range(groups):
            patch = view[:, g * per_in : (g + 1) * per_in]
            kernel_index: tuple[slice | int, ...] = (
                slice(g * per_out, (g + 1) * per_out),
                slice(None),
                *tap,
            )
            kernel = w[kernel_index]
            out[:, g * per_out : (g + 1) * per_out] += np.einsum("nc...,fc->nf...", patch, kernel)
    return out + b.reshape(1, -1, *([1] * (x.ndim - 2)))


def _conv_transpose(
    op: graph.ConvTransposeOp, x: np.ndarray, w: np.ndarray, b: np.ndarray
) -> np.ndarray:
    groups = op.groups.value.data
    out = np.zeros(graph.tensor_shape(op.result), dtype=np.float64)
    spatial = x.ndim - 2
    per_in, per_out = x.shape[1] // groups, w.shape[1]
    strides, pads, dilations = op.stride_values, op.pad_values, op.dilation_values
    for position in np.ndindex(*x.shape[2:]):
        for tap in np.ndindex(*w.shape[2:]):
            target = [
                position[d] * strides[d] - pads[d] + tap[d] * dilations[d] for d in range(spatial)
            ]
            if any(not 0 <= t < out.shape[2 + d] for d, t in enumerate(target)):
                continue
            for g in range(groups):
                values = x[:, g * per_in : (g + 1) * per_in, *position]
                kernel = w[g * per_in : (g + 1) * per_in, :, *tap]
                out[:, g * per_out : (g + 1) * per_out, *target] += values @ kernel
    return out + b.reshape(1, -1, *([1] * spatial))


def _pool(op: graph.PoolOp, x: np.ndarray) -> np.ndarray:
    kernel = op.kernel_values
    if op.kind.data == "max":
        lowest = -np.inf if numeric_kind(x.dtype) == "f" else np.iinfo(x.dtype).min
        return np.max([view for _, view in _windows(x, op, kernel, lowest)], axis=0)
    total = np.sum([view for _, view in _windows(x, op, kernel, 0.0)], axis=0)
    spatial = x.ndim - 2
    pads = op.pad_values
    if op.count_include_pad.value.data:
        grid = [x.shape[2 + d] + pads[d] + pads[spatial + d] for d in range(spatial)]
        windows = _windows(np.ones((1, 1, *grid)), _Unpadded(op), kernel, 0.0)
    else:
        windows = _windows(np.ones((1, 1, *x.shape[2:])), op, kernel, 0.0)
    return total / np.sum([view for _, view in windows], axis=0)


def _max_pool_indices(op: graph.MaxPoolIndicesOp, x: np.ndarray) -> np.ndarray:
    """The first tap in scan order inside the input holding the window's max (or a NaN),
    as its offset in x, row-major or with the spatial dims column-major."""
    kernel = op.kernel_values
    values = np.stack([view for _, view in _windows(x, op, kernel, -np.inf)])
    offsets = np.arange(x.size, dtype=np.int64).reshape(x.shape)
    taps = np.stack([view for _, view in _windows(offsets, op, kernel, -1)])
    with np.errstate(invalid="ignore"):
        holds = (values == values.max(axis=0)) | np.isnan(values)
    first = np.argmax(holds & (taps >= 0), axis=0)
    row_major = np.take_along_axis(taps, first[None], axis=0)[0]
    if not op.storage_order.value.data:
        return row_major
    n, c, *spatial = np.unravel_index(row_major, x.shape)
    inner = np.ravel_multi_index(spatial[::-1], x.shape[2:][::-1])
    return ((n * x.shape[1] + c) * int(np.prod(x.shape[2:])) + inner).astype(np.int64)


class _Unpadded:
    """The same window as a pool op but with no padding (for counting over a padded grid)."""

    def __init__(self, op: graph.PoolOp):
        self.results = op.results
        self.stride_values = op.stride_values
        self.dilation_values = op.dilation_values
        self.pad_values = (0,) * len(op.pad_values)


def _reduce(op: graph.ReduceOp, x: np.ndarray) -> np.ndarray:
    """numpy's reduction; max and min of an empty set give the type's lowest and highest
    value (-inf and inf for floats), as ONNX defines them."""
    kind = op.kind.data
    extra: dict[str, object] = {}
    if kind in ("max", "min"):
        low: int | float
        high: int | float
        if x.dtype == np.bool_:
            low, high = False, True
        elif numeric_kind(x.dtype) == "f":
            low, high = -np.inf, np.inf
        else:
            low, high = np.iinfo(x.dtype).min, np.iinfo(x.dtype).max
        extra["initial"] = low if kind == "max" else high
    keepdims = bool(op.keepdims.value.data)
    return getattr(np, kind)(x, axis=op.axis_values, keepdims=keepdims, **extra)


def _batch_norm(op: graph.BatchNormOp, x, scale, bias, mean, var) -> np.ndarray:
    shape = (1, -1, *([1] * (x.ndim - 2)))
    inverse = 1 / np.sqrt(var + np.float32(op.epsilon.value.data))
    return (x - mean.reshape(shape)) * (inverse * scale).reshape(shape) + bias.reshape(shape)


def _lrn(op: graph.LrnOp, x: np.ndarray) -> np.ndarray:
    size = op.size.value.data
    before, after = (size - 1) // 2, size // 2
    squares = np.pad(x * x, [(0, 0), (before, after), *([(0, 0)] * (x.ndim - 2))])
    total = sum(squares[:, i : i + x.shape[1]] for i in range(size))
    alpha, beta, bias = (op.alpha.value.data, op.beta.value.data, op.bias.value.data)
    return x / (bias + alpha / size * total) ** beta


def _slice(op: graph.SliceOp, x: np.ndarray) -> np.ndarray:
    out = graph.tensor_shape(op.result)
    index = tuple(
        np.arange(out[d]) * step + start
        for d, (start, step) in enumerate(
            zip(op.starts.get_values(), op.steps.get_values(), strict=True)
        )
    )
    return x[np.ix_(*index)] if x.ndim else x


_NUMPY_PAD_MODES: dict[str, Literal["reflect", "edge", "wrap"]] = {
    "reflect": "reflect",
    "edge": "edge",
    "wrap": "wrap",
}
"""graph.pad's non-constant modes as numpy.pad names them."""


def _pad(op: graph.PadOp, x: np.ndarray) -> np.ndarray:
    pads = op.pad_values
    widths = [(pads[d], pads[x.ndim + d]) for d in range(x.ndim)]
    if op.mode.data == "constant":
        return np.pad(x, widths, constant_values=op.value.value.data)
    return np.pad(x, widths, mode=_NUMPY_PAD_MODES[op.mode.data])


def transform_layout(array: np.ndarray, source: str, target: str) -> np.ndarray:
    """`array`, laid out in `source` (a layout string such as NCHW16c), laid out in `target`:
    each whole axis is joined with its block, then split by the target's block and permuted."""
    src, dst = graph.Layout.parse(source), graph.Layout.parse(target)
    order: list[int] = []
    for axis in src.primal_axes:
        order.append(src.axes.index(axis))
        if axis.lower() in src.blocks:
            order.append(src.axes.index(axis.lower()))
    extents = src.extents(array.shape)
    whole = array.transpose(order).reshape([extents[a] for a in src.primal_axes])
    split_axes: list[str] = []
    for axis in src.primal_axes:
        split_axes.extend([axis, axis.lower()] if axis.lower() in dst.blocks else [axis])
    split_shape = [dst.blocks[a] if a.islower() else extents[a] // dst.block(a) for a in split_axes]
    return whole.reshape(split_shape).transpose([split_axes.index(a) for a in dst.axes])


_NchwWindowOpT = TypeVar("_NchwWindowOpT", graph.ConvOp, graph.PoolOp)


def _as_nchw(op: Operation, nchw_op: type[_NchwWindowOpT], shape: Sequence[int]) -> _NchwWindowOpT:
    """A blocked op as its NCHW counterpart (same attributes, the NCHW result type), so the
    NCHW evaluators compute it; detached and without operands, which they never read."""
    return nchw_op.create(properties=dict(op.properties), result_types=[graph.tensor_of(shape)])


def _conv_nchwc(op: graph.ConvNchwcOp, x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    in_block, (weight_in_block, out_block) = x.shape[4], w.shape[4:]
    x = transform_layout(x, graph.blocked_layout(in_block), "NCHW")
    w = transform_layout(w, graph.blocked_weight_layout(weight_in_block, out_block), "OIHW")
    n, blocks, height, width, _ = graph.tensor_shape(op.result)
    nchw = _as_nchw(op, graph.ConvOp, (n, blocks * out_block, height, width))
    out = _conv(nchw, x, w, b)
    return transform_layout(out, "NCHW", graph.blocked_layout(out_block))


def _pool_nchwc(op: graph.PoolNchwcOp, x: np.ndarray) -> np.ndarray:
    block = x.shape[4]
    n, blocks, height, width, _ = graph.tensor_shape(op.result)
    nchw = _as_nchw(op, graph.PoolOp, (n, blocks * block, height, width))
    out = _pool(nchw, transform_layout(x, graph.blocked_layout(block), "NCHW"))
    return transform_layout(out, "NCHW", graph.blocked_layout(block))


def _winograd_input(op: graph.WinogradInputOp, x: np.ndarray) -> np.ndarray:
    tile = op.tile.value.data
    bt, _, _ = graph.winograd_matrices(tile)
    alpha, top, left, bottom, right = tile + 2, *op.pad_values
    nchw = transform_layout(x, graph.blocked_layout(x.shape[4]), "NCHW")
    rows, cols = graph.tile_grid(x.shape[2] + top + bottom - 2, x.shape[3] + left + right - 2, tile)
    extra_h = rows * tile + 2 - (x.shape[2] + top + bottom)
    extra_w = cols * tile + 2 - (x.shape[3] + left + right)
    padded = np.pad(nchw, ((0, 0), (0, 0), (top, bottom + extra_h), (left, right + extra_w)))
    windows = np.stack(
        [
            np.stack(
                [padded[:, :, r * tile : r * tile + alpha, c * tile : c * tile + alpha]
                 for c in range(cols)], axis=1,
            )
            for r in range(rows)
        ],
        axis=1,
    )  # fmt: skip
    transformed = np.einsum("ia,jb,nrtcab->ijnrtc", bt, bt, windows)
    return transformed.reshape(alpha * alpha, -1, nchw.shape[1]).astype(x.dtype)


def _winograd_output(op: graph.WinogradOutputOp, m: np.ndarray, bias: np.ndarray) -> np.ndarray:
    tile = op.tile.value.data
    _, _, at = graph.winograd_matrices(tile)
    n, blocks, height, width, block = graph.tensor_shape(op.result)
    rows, cols = graph.tile_grid(height, width, tile)
    alpha = tile + 2
    grid = m.reshape(alpha, alpha, n, rows, cols, m.shape[2])
    tiles = np.einsum("ia,jb,abnrtk->nkritj", at, at, grid).reshape(
        n, m.shape[2], rows * tile, cols * tile
    )
    out = tiles[:, :, :height, :width] + bias.reshape(1, -1, 1, 1)
    return transform_layout(out.astype(m.dtype), "NCHW", graph.blocked_layout(block))


def _where(op: graph.WhereOp, condition: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.where(condition, x, y)


Evaluator = Callable[..., np.ndarray]

EVALUATORS: dict[type[Operation], Evaluator] = {
    graph.ReluOp: lambda op, x: np.maximum(x, np.float32(0)),
    graph.SigmoidOp: lambda op, x: 1 / (1 + np.exp(-x)),
    graph.TanhOp: lambda op, x: np.tanh(x),
    graph.ErfOp: lambda op, x: _erf(x),
    graph.ExpOp: lambda op, x: np.exp(x),
    graph.LogOp: lambda op, x: np.log(x),
    graph.SqrtOp: lambda op, x: np.sqrt(x),
    graph.NegOp: lambda op, x: -x,
    graph.ReciprocalOp: lambda op, x: 1 / x,
    graph.RoundOp: lambda op, x: np.rint(x),
    graph.QuantizeOp: _quantize,
    graph.DequantizeOp: _dequantize,
    graph.GeluOp: _gelu,
    graph.AddOp: lambda op, a, b: a + b,
    graph.SubOp: lambda op, a, b: a - b,
    graph.MulOp: lambda op, a, b: a * b,
    graph.DivOp: _divide,
    graph.ModOp: _modulo,
    graph.PowOp: _power,
    graph.MaxOp: lambda op, a, b: np.maximum(a, b),
    graph.MinOp: lambda op, a, b: np.minimum(a, b),
    graph.TransposeOp: lambda op, x: np.transpose(x, op.permutation),
    graph.ConcatOp: lambda op, *xs: np.concatenate(xs, axis=op.axis.value.data),
    graph.ClipOp: lambda op, x: np.clip(x, op.param("min"), op.param("max")),
    graph.LeakyReluOp: lambda op, x: np.where(x < 0, x * op.param("alpha"), x),
    graph.HardSigmoidOp: lambda op, x: np.clip(x * op.param("alpha") + op.param("beta"), 0, 1),
    graph.PReluOp: lambda op, x, slope: np.where(x < 0, x * slope, x),
    graph.ConvOp: _conv,
    graph.ConvTransposeOp: _conv_transpose,
    graph.PoolOp: _pool,
    graph.MaxPoolIndicesOp: _max_pool_indices,
    graph.BatchNormOp: _batch_norm,
    graph.LrnOp: _lrn,
    graph.SliceOp: _slice,
    graph.BroadcastOp: lambda op, x: np.broadcast_to(x, graph.tensor_shape(op.result)).copy(),
    graph.PadOp: _pad,
    graph.GatherOp: lambda op, x, i: np.take(x, i, axis=op.axis.value.data),
    graph.WhereOp: _where,
    graph.EqualOp: lambda op, a, b: np.equal(a, b),
    graph.CastOp: lambda op, x: _cast(x, _dtype(op.result.type)),
    graph.ReduceOp: _reduce,
    graph.LayerNormOp: _layer_norm,
    graph.MatmulOp: _matmul,
    graph.SoftmaxOp: lambda op, x: _softmax(x, op.axis.value.data),
    graph.ReshapeOp: lambda op, x: x.reshape(graph.tensor_shape(op.result)),
    graph.LayoutTransformOp: lambda op, x: transform_layout(
        x, op.src_layout.data, op.dst_layout.data
    ),
    graph.ConvNchwcOp: _conv_nchwc,
    graph.PoolNchwcOp: _pool_nchwc,
    graph.WinogradInputOp: _winograd_input,
    graph.WinogradOutputOp: _winograd_output,
    graph.RecurrenceOp: recurrence,
    **INT8_EVALUATORS,
    **BF16_EVALUATORS,
}
"""numpy semantics of each graph op, called with the op and its operand arrays."""


def _dtype(tensor_type: Attribute) -> np.dtype:
    assert isinstance(tensor_type, TensorType)
    for name, element in graph.NUMPY_ELEMENT_TYPES.items():
        if element == tensor_type.element_type:
            return dtype_named(name)
    raise ZigguratError(f"the reference executor has no numpy type for {tensor_type.element_type}")


def _main(module: ModuleOp) -> func.FuncOp:
    for op in module.ops:
        if isinstance(op, func.FuncOp) and op.sym_visibility is None and op.body.blocks:
            return op
    raise ZigguratError("the module has no public function to run")


def input_names(function: func.FuncOp) -> list[str]:
    names: list[str] = []
    for n in range(len(function.body.block.args)):
        name = function.arg_attrs.data[n].data.get(graph.NAME_ATTR) if function.arg_attrs else None
        names.append(name.data if isinstance(name, StringAttr) else f"input{n}")
    return names


def _checked_results(function: func.FuncOp, results: list[np.ndarray]) -> list[np.ndarray]:
    """The results but the checks (outputs named with CHECK_PREFIX, runtime/execution.py) and
    row counts (ROWS_PREFIX: the output they name keeps that many rows, as the runtime
    returns it); raises ZigguratError with a check's message where one is set, as a compiled
    run does."""
    attrs = function.res_attrs.data if function.res_attrs else ()
    kept: list[tuple[str, np.ndarray]] = []
    rows: dict[str, int] = {}
    for n, result in enumerate(results):
        name = attrs[n].data.get(graph.NAME_ATTR) if n < len(attrs) else None
        text = name.data if isinstance(name, StringAttr) else f"output{n}"
        if text.startswith(ROWS_PREFIX):
            rows[text.removeprefix(ROWS_PREFIX)] = int(result.reshape(-1)[0])
        elif not text.startswith(CHECK_PREFIX):
            kept.append((text, result))
        elif result.any():
            raise ZigguratError(f"the run failed: {text.removeprefix(CHECK_PREFIX)}")
    return [value[: rows[name]] if name in rows else value for name, value in kept]


def run_reference(
    module: ModuleOp,
    params: Mapping[str, np.ndarray],
    inputs: Mapping[str, np.ndarray] | Sequence[np.ndarray],
) -> list[np.ndarray]:
    """Runs the graph function of `module` on numpy arrays; inputs by name or position."""
    function = _main(module)
    names = input_names(function)
    if not isinstance(inputs, Mapping):
        inputs = dict(zip(names, inputs, strict=True))
    values: dict[SSAValue, np.ndarray] = {}
    for name, arg in zip(names, function.body.block.args, strict=True):
        if name not in inputs:
            raise ZigguratError(f"no value given for input {name!r}")
        values[arg] = np.asarray(inputs[name], dtype=_dtype(arg.type))
    return _checked_results(function, _run_block(function.body.block, values, params))


def _run_block(
    block: Block, values: dict[SSAValue, np.ndarray], params: Mapping[str, np.ndarray]
) -> list[np.ndarray]:
    """Runs the ops of `block` on `values` (updated in place); the arrays its terminator
    (func.return, or graph.yield in a region) gives."""
    for op in block.ops:
        if isinstance(op, func.ReturnOp | graph.YieldOp):
            return [values[v] for v in op.operands]
        if isinstance(op, graph.WeightOp):
            values[op.result] = np.asarray(params[op.weight_name.data])
        elif isinstance(op, graph.ConstantOp):
            shape = graph.tensor_shape(op.result)
            values[op.result] = np.array(
                op.value.get_values(), dtype=_dtype(op.result.type)
            ).reshape(shape)
        elif type(op) in EVALUATORS:
            result = EVALUATORS[type(op)](op, *(values[v] for v in op.operands))
            values[op.results[0]] = np.asarray(result, dtype=_dtype(op.results[0].type))
        elif type(op) in CONTROL_EVALUATORS:
            results = CONTROL_EVALUATORS[type(op)](
                op, values, lambda inner, scope: _run_block(inner, scope, params)
            )
            for result, array in zip(op.results, results, strict=True):
                values[result] = np.asarray(array, dtype=_dtype(result.type))
        else:
            raise ZigguratError(f"the reference executor cannot run {op.name}")
    raise ZigguratError("the graph function has no return")
