"""Hypothesis strategies drawing small random ONNX graphs over the ops Ziggurat supports.

Float graphs start from an NCHW image or a [batch,] rows x features matrix and apply a chain
of ops, each drawn from those the current value's rank allows; channel counts of 8, 16 and 32
and images of 12 to 14 pixels come up often enough that opt_level 3 blocks the convolution
chains (graph-alter-layout wants two convertible convolutions) and computes their 3x3 stride-1
convolutions with Winograd's transforms (at least 16 input channels and 32 tiles). Integer
graphs chain elementwise arithmetic, with divisors kept away from zero (onnxruntime refuses
it; tests/differential/test_numeric_edges.py covers it) and overflowing products left to wrap.
"""

from collections.abc import Callable

import numpy as np
from hypothesis import strategies as st
from onnx import helper

from .graphs import OPSETS, GraphBuilder, GraphCase, TooLarge, Value, broadcast_shape

Draw = Callable[..., object]
OpBuilder = Callable[[Draw, GraphBuilder, Value], Value]

UNARY = ["Relu", "Sigmoid", "Tanh", "Exp", "Neg", "Erf"]
"""Unary ops defined on every float."""
POSITIVE_ONLY = ["Log", "Sqrt", "Reciprocal"]
"""Unary ops applied to Exp or Sigmoid of a Tanh, a value kept positive and away from 0:
onnxruntime's Sigmoid returns 0 below -18 where the true value is 1.5e-8 (Ziggurat's gets it),
and the reciprocal of that would compare infinity with 6.6e7."""


def _unary(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    op_type = draw(st.sampled_from(UNARY + POSITIVE_ONLY + ["Gelu"] * 3 * (b.opset >= 20)))
    if op_type in POSITIVE_ONLY or op_type == "Exp":
        x = b.node("Tanh", [x.name], x.shape, x.dtype)  # keeps chains of Exp finite too
    if op_type in POSITIVE_ONLY:
        x = b.node(draw(st.sampled_from(["Exp", "Sigmoid"])), [x.name], x.shape, x.dtype)
    attributes = (
        {"approximate": draw(st.sampled_from(["none", "tanh"]))} if op_type == "Gelu" else {}
    )
    return b.node(op_type, [x.name], x.shape, x.dtype, **attributes)


def _activation(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    kinds = ["Clip", "LeakyRelu", "HardSigmoid", "PRelu"] + ["HardSwish"] * (b.opset >= 14)
    kind = draw(st.sampled_from(kinds))
    if kind == "Clip":
        low = draw(st.sampled_from([-1.0, -0.5, 0.0]))
        high = draw(st.sampled_from([0.5, 1.0, 6.0]))
        bounds = [b.constant(np.float32(low)), b.constant(np.float32(high))]
        return b.node("Clip", [x.name, *bounds], x.shape, x.dtype)
    if kind == "LeakyRelu":
        alpha = draw(st.sampled_from([0.01, 0.1, 0.3]))
        return b.node("LeakyRelu", [x.name], x.shape, x.dtype, alpha=alpha)
    if kind == "HardSigmoid":
        return b.node("HardSigmoid", [x.name], x.shape, x.dtype, alpha=0.3, beta=0.4)
    if kind == "HardSwish":
        return b.node("HardSwish", [x.name], x.shape, x.dtype)
    slope_shape = (x.shape[1], 1, 1) if x.rank == 4 else (x.shape[-1],)
    return b.node("PRelu", [x.name, b.weight(slope_shape, 0.3)], x.shape, x.dtype)


def _broadcastable_shape(draw: Draw, shape: tuple[int, ...]) -> tuple[int, ...]:
    """A shape that broadcasts against `shape`: a suffix of it with some dims set to 1."""
    suffix = shape[draw(st.integers(0, len(shape))) :]
    return tuple(d if draw(st.booleans()) else 1 for d in suffix)


def _binary(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    op_type = draw(st.sampled_from(["Add", "Sub", "Mul", "Div", "Max", "Min"]))
    same_shape = [v for v in b.values if v.shape == x.shape and v.dtype == x.dtype and v != x]
    source = draw(st.sampled_from(["constant", "input", "residual"]))
    if source == "residual" and same_shape:
        other = draw(st.sampled_from(same_shape)).name
        shape = x.shape
    else:
        shape = _broadcastable_shape(draw, x.shape)
        if draw(st.booleans()):  # the other operand may be the wider one
            shape = (*x.shape[:-1], 1) if x.rank and x.shape[-1] > 1 else shape
        feed = b.random(shape, x.dtype)
        if op_type == "Div":
            feed = np.where(np.abs(feed) < 0.5, 1.5, feed).astype(x.dtype)
        if source == "constant":
            other = b.constant(feed)
        else:
            other = b.input(shape, x.dtype, feed).name
    operands = [x.name, other]
    if draw(st.booleans()) and op_type != "Div":
        operands.reverse()
    return b.node(op_type, operands, broadcast_shape(x.shape, shape), x.dtype)


def _conv(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    n, c, h, w = x.shape
    kernel = draw(st.sampled_from([1, 3, 3]))
    stride = draw(st.sampled_from([1, 1, 2]))
    dilation = draw(st.sampled_from([1, 1, 1, 2])) if kernel == 3 else 1
    reach = dilation * (kernel - 1) + 1
    pads = [draw(st.integers(0, kernel // 2 * dilation)) for _ in range(4)]
    if draw(st.booleans()):
        pads = [kernel // 2 * dilation] * 4  # "same", what the Winograd rewrite expects
    if h + pads[0] + pads[2] < reach or w + pads[1] + pads[3] < reach:
        pads = [kernel // 2 * dilation] * 4
    grouping = draw(st.sampled_from(["dense", "dense", "depthwise", "grouped"]))
    groups = 1
    out_channels = draw(st.sampled_from([c, 4, 8, 16, 32, draw(st.integers(1, 12))]))
    if grouping == "depthwise":
        groups, out_channels = c, c * draw(st.sampled_from([1, 1, 2]))
    elif grouping == "grouped":
        divisors = [g for g in (2, 4) if c % g == 0]
        if divisors:
            groups = draw(st.sampled_from(divisors))
            out_channels = groups * draw(st.integers(1, 4))
    weight = b.weight(
        (out_channels, c // groups, kernel, kernel), (c // groups * kernel**2) ** -0.5
    )
    inputs = [x.name, weight]
    if draw(st.booleans()):
        inputs.append(b.weight((out_channels,)))
    window: dict[str, object] = {"pads": pads}
    if draw(st.integers(0, 3)) == 0:  # onnxruntime refuses SAME with dilations
        same = ["SAME_UPPER", "SAME_LOWER"] if dilation == 1 else []
        window = {"auto_pad": draw(st.sampled_from([*same, "VALID"]))}
    conv = b.inferred(
        "Conv",
        inputs,
        x.dtype,
        kernel_shape=[kernel, kernel],
        strides=[stride, stride],
        dilations=[dilation, dilation],
        group=groups,
        **window,
    )
    b.note_accumulation(c // groups * kernel**2)
    return conv


def _batch_norm(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    c = x.shape[1]
    variance = b.constant(b.rng.uniform(0.5, 2.0, c).astype(np.float32))
    operands = [x.name, b.weight((c,)), b.weight((c,)), b.weight((c,)), variance]
    epsilon = draw(st.sampled_from([1e-5, 1e-3]))
    return b.node("BatchNormalization", operands, x.shape, x.dtype, epsilon=epsilon)


def _conv_block(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    """Conv, maybe BatchNormalization, maybe an activation: what fusion and layout rewrite."""
    y = _conv(draw, b, x)
    if draw(st.booleans()):
        y = _batch_norm(draw, b, y)
    if draw(st.booleans()):
        y = b.node(
            draw(st.sampled_from(["Relu", "Relu", "Sigmoid", "Tanh"])), [y.name], y.shape, y.dtype
        )
    return y


def _conv_chain(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    """Two or three 3x3 "same" convolutions (sometimes 1x1 or depthwise) of 8 to 32 channels,
    each maybe with BatchNormalization, an activation and a residual Add: what graph-alter-layout
    blocks and, with 16 or more input channels and 32 tiles, graph-winograd rewrites."""
    n, _, h, w = x.shape
    for _ in range(draw(st.integers(2, 3))):
        channels = x.shape[1]
        out_channels = draw(st.sampled_from([8, 16, 16, 32]))
        kernel, groups = draw(st.sampled_from([(3, 1), (3, 1), (3, 1), (1, 1), (3, channels)]))
        if groups > 1:
            out_channels = channels
        weight = b.weight((out_channels, channels // groups, kernel, kernel), 0.3)
        inputs = [x.name, weight, *([b.weight((out_channels,))] if draw(st.booleans()) else [])]
        y = b.node(
            "Conv",
            inputs,
            (n, out_channels, h, w),
            x.dtype,
            accumulation=channels // groups * kernel**2,
            kernel_shape=[kernel, kernel],
            pads=[kernel // 2] * 4,
            group=groups,
        )
        if draw(st.booleans()):
            y = _batch_norm(draw, b, y)
        if draw(st.booleans()) and y.shape == x.shape:
            y = b.node("Add", [y.name, x.name], y.shape, y.dtype)
        if draw(st.booleans()):
            y = b.node(draw(st.sampled_from(["Relu", "Sigmoid"])), [y.name], y.shape, y.dtype)
        x = y
    return x


def _siblings(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    """Two or three convolutions (of an image) or matmuls (of a matrix) reading the same
    input, their results joined by Concat or Add: what graph-fuse-horizontal merges."""
    count = draw(st.integers(2, 3))
    widths = [draw(st.sampled_from([4, 8, 16])) for _ in range(count)]
    if draw(st.booleans()):
        widths = [widths[0]] * count
    results = []
    for width in widths:
        if x.rank == 4:
            n, c, h, w = x.shape
            kernel = draw(st.sampled_from([1, 3]))
            inputs = [x.name, b.weight((width, c, kernel, kernel), 0.3)]
            if draw(st.booleans()):
                inputs.append(b.weight((width,)))
            results.append(
                b.node(
                    "Conv",
                    inputs,
                    (n, width, h, w),
                    x.dtype,
                    accumulation=c * kernel**2,
                    kernel_shape=[kernel, kernel],
                    pads=[kernel // 2] * 4,
                )
            )
        else:
            k = x.shape[-1]
            y = b.node(
                "MatMul",
                [x.name, b.weight((k, width), k**-0.5)],
                (*x.shape[:-1], width),
                x.dtype,
                accumulation=k,
            )
            if draw(st.booleans()):
                y = b.node("Add", [y.name, b.weight((width,))], y.shape, y.dtype)
            results.append(y)
    axis = 1 if x.rank == 4 else x.rank - 1
    if len(set(widths)) == 1 and draw(st.booleans()):
        return b.node("Sum", [r.name for r in results], results[0].shape, x.dtype)
    shape = tuple(sum(widths) if d == axis else s for d, s in enumerate(results[0].shape))
    return b.node("Concat", [r.name for r in results], shape, x.dtype, axis=axis)


def _pool(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    n, c, h, w = x.shape
    kind = draw(st.sampled_from(["MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"]))
    if kind.startswith("Global"):
        return b.node(kind, [x.name], (n, c, 1, 1), x.dtype, accumulation=h * w)
    kernel = draw(st.integers(1, min(3, h, w)))
    stride = draw(st.sampled_from([1, 2]))
    attributes: dict[str, object] = {
        "kernel_shape": [kernel, kernel],
        "strides": [stride, stride],
        "ceil_mode": draw(st.sampled_from([0, 0, 1])),
    }
    padding = draw(st.sampled_from(["pads", "pads", "SAME_UPPER", "SAME_LOWER", "VALID"]))
    if padding == "pads":
        attributes["pads"] = [draw(st.integers(0, kernel // 2)) for _ in range(4)]
    else:
        attributes["auto_pad"] = padding
    if kind == "AveragePool":
        attributes["count_include_pad"] = draw(st.sampled_from([0, 1]))
    elif draw(st.booleans()) and padding == "pads" and min(h, w) > 2 * kernel:
        attributes["dilations"] = [2, 2]
    return b.inferred(kind, [x.name], x.dtype, **attributes)


def _resize(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    """Resize of the spatial dims by scales (nearest or linear, a few coordinate transforms)."""
    scale = draw(st.sampled_from([2.0, 0.5, 1.5]))
    mode = draw(st.sampled_from(["nearest", "linear"]))
    transform = draw(st.sampled_from(["half_pixel", "asymmetric", "align_corners"]))
    scales = b.constant(np.array([1.0, 1.0, scale, scale], np.float32))
    attributes: dict[str, object] = {"mode": mode, "coordinate_transformation_mode": transform}
    if mode == "nearest":
        attributes["nearest_mode"] = draw(st.sampled_from(["round_prefer_floor", "floor"]))
    roi = b.constant(np.zeros(0, np.float32)) if b.opset < 13 else ""  # required before 13
    return b.inferred("Resize", [x.name, roi, scales], x.dtype, **attributes)


def _lrn(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    size = draw(st.sampled_from([1, 3, 5]))
    return b.node("LRN", [x.name], x.shape, x.dtype, size=size, alpha=1e-3, beta=0.75, bias=1.0)


def _batched_matmul(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    """x @ y with y fed at run time and its batch dims broadcasting against x's."""
    k = x.shape[-1]
    n = draw(st.integers(1, 9))
    batch = x.shape[:-2]
    batch = draw(st.sampled_from([batch, tuple(1 for _ in batch), (2, *batch)]))
    y = b.input((*batch, k, n), x.dtype)
    shape = (*broadcast_shape(x.shape[:-2], batch), x.shape[-2], n)
    return b.node("MatMul", [x.name, y.name], shape, x.dtype, accumulation=k)


def _matmul(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    k = x.shape[-1]
    n = draw(st.sampled_from([1, 5, 8, 16, draw(st.integers(2, 24))]))
    if draw(st.booleans()):
        other = b.weight((k, n), k**-0.5)
    else:
        other = b.input((k, n), x.dtype).name
    y = b.node("MatMul", [x.name, other], (*x.shape[:-1], n), x.dtype, accumulation=k)
    if draw(st.booleans()):
        y = b.node("Add", [y.name, b.weight((n,))], y.shape, y.dtype)
    return y


def _gemm(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    trans_a, trans_b = draw(st.booleans()), draw(st.booleans())
    m, k = reversed(x.shape) if trans_a else x.shape
    n = draw(st.sampled_from([1, 6, 16, draw(st.integers(2, 20))]))
    inputs = [x.name, b.weight((n, k) if trans_b else (k, n), k**-0.5)]
    if draw(st.booleans()):
        inputs.append(b.weight(draw(st.sampled_from([(n,), (m, n), (1,), (m, 1)]))))
    alpha = draw(st.sampled_from([1.0, 0.5]))
    beta = draw(st.sampled_from([1.0, 2.0]))
    return b.node(
        "Gemm",
        inputs,
        (m, n),
        x.dtype,
        accumulation=k,
        transA=int(trans_a),
        transB=int(trans_b),
        alpha=alpha,
        beta=beta,
    )


def _layer_norm(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    axis = draw(st.integers(-x.rank + 1, -1))
    normalized = x.shape[axis:]
    inputs = [x.name, b.weight(normalized)]
    if draw(st.booleans()):
        inputs.append(b.weight(normalized))
    return b.node(
        "LayerNormalization",
        inputs,
        x.shape,
        x.dtype,
        accumulation=int(np.prod(normalized)),
        axis=axis,
        epsilon=1e-5,
    )


def _softmax(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    axis = draw(st.integers(-x.rank, x.rank - 1))
    return b.node("Softmax", [x.name], x.shape, x.dtype, accumulation=x.shape[axis], axis=axis)


REDUCTIONS = ["ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd"]
INTEGER_REDUCTIONS = ["ReduceMax", "ReduceMin"]
"""Integer sums are left to tests/differential/test_regressions.py: onnxruntime's do not wrap
on overflow (int32 ones saturate, int64 ones round), Ziggurat's do, as numpy's."""


def _reduce(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    kind = draw(st.sampled_from(REDUCTIONS if x.is_float else INTEGER_REDUCTIONS))
    axes = sorted(draw(st.sets(st.integers(0, x.rank - 1), min_size=1, max_size=x.rank)))
    keepdims = draw(st.sampled_from([0, 1])) if len(axes) < x.rank else 1
    shape = tuple(1 if d in axes else s for d, s in enumerate(x.shape) if keepdims or d not in axes)
    accumulation = int(np.prod([x.shape[d] for d in axes]))
    axes_operand = [int(a) - x.rank if draw(st.booleans()) else int(a) for a in axes]
    if b.opset < (13 if kind == "ReduceSum" else 18):
        return b.node(
            kind,
            [x.name],
            shape,
            x.dtype,
            accumulation=accumulation,
            axes=axes_operand,
            keepdims=keepdims,
        )
    return b.node(
        kind,
        [x.name, b.ints(axes_operand)],
        shape,
        x.dtype,
        accumulation=accumulation,
        keepdims=keepdims,
    )


def _transpose(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    perm = draw(st.permutations(range(x.rank)))
    return b.node("Transpose", [x.name], tuple(x.shape[p] for p in perm), x.dtype, perm=list(perm))


def _reshape(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    """Flatten, or a Reshape to rank 2 or 3 with a -1 and maybe a copied (0) dim."""
    total = int(np.prod(x.shape))
    if x.rank >= 2 and draw(st.booleans()):
        axis = draw(st.integers(0, x.rank))
        outer = int(np.prod(x.shape[:axis]))
        return b.node("Flatten", [x.name], (outer, total // outer), x.dtype, axis=axis)
    first = x.shape[0]
    rest = total // first
    divisors = [d for d in range(1, rest + 1) if rest % d == 0]
    middle = draw(st.sampled_from(divisors))
    shape = (first, middle, rest // middle)
    spec = [0 if draw(st.booleans()) else first, middle, -1]
    if draw(st.booleans()):
        shape, spec = (first, rest), [first, -1]
    return b.node("Reshape", [x.name, b.ints(spec)], shape, x.dtype)


def _slice(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    axis = draw(st.integers(0, x.rank - 1))
    size = x.shape[axis]
    if size < 2:
        return x
    step = draw(st.sampled_from([1, 1, 2, -1]))
    if step > 0:
        start = draw(st.integers(0, size - 1))
        end = draw(st.integers(start + 1, size))
        length = len(range(start, end, step))
        beyond_or_negative = 2**31 if end == size else end - size
        ends = draw(st.sampled_from([end, beyond_or_negative]))
    else:
        start = draw(st.integers(1, size - 1))
        end = draw(st.integers(-1, start - 1))
        length = len(range(start, end, step))
        ends = end if end >= 0 else -(10**9)
    shape = tuple(length if d == axis else s for d, s in enumerate(x.shape))
    operands = [x.name, b.ints([start]), b.ints([ends]), b.ints([axis]), b.ints([step])]
    return b.node("Slice", operands, shape, x.dtype)


def _concat(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    axis = draw(st.integers(0, x.rank - 1))
    extra = draw(st.integers(1, 4))
    other_shape = tuple(extra if d == axis else s for d, s in enumerate(x.shape))
    if draw(st.booleans()):
        other = b.input(other_shape, x.dtype).name
    else:
        other = x.name
        extra = x.shape[axis]
    shape = tuple(s + extra if d == axis else s for d, s in enumerate(x.shape))
    return b.node(
        "Concat", [x.name, other], shape, x.dtype, axis=axis - x.rank * draw(st.booleans())
    )


def _gather(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    axis = draw(st.integers(0, x.rank - 1))
    size = x.shape[axis]
    index_shape = draw(st.sampled_from([(), (3,), (2, 2)]))
    indices = b.rng.integers(-size, size, size=index_shape).astype(np.int64)
    shape = (*x.shape[:axis], *index_shape, *x.shape[axis + 1 :])
    if not shape or x.rank + len(index_shape) - 1 > 4:
        return x
    return b.node("Gather", [x.name, b.constant(indices)], shape, x.dtype, axis=axis)


def _pad(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    mode = draw(st.sampled_from(["constant", "constant", "reflect", "edge"]))
    low = max(0, min(x.shape) - 1) if mode == "reflect" else 2
    pads = [draw(st.integers(0, min(2, low))) for _ in range(2 * x.rank)]
    shape = tuple(s + pads[d] + pads[d + x.rank] for d, s in enumerate(x.shape))
    operands = [x.name, b.ints(pads)]
    if mode == "constant" and draw(st.booleans()):
        operands.append(b.constant(np.array(draw(st.sampled_from([0.5, -2.0])), x.dtype)))
    return b.node("Pad", operands, shape, x.dtype, mode=mode)


def _squeeze_unsqueeze(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    ones = [d for d, s in enumerate(x.shape) if s == 1]
    if ones and draw(st.booleans()):
        axes = [draw(st.sampled_from(ones))]
        shape = tuple(s for d, s in enumerate(x.shape) if d not in axes)
        if shape:
            return _with_axes(b, "Squeeze", x, axes, shape)
    if x.rank >= 4:
        return x
    axis = draw(st.integers(0, x.rank))
    shape = (*x.shape[:axis], 1, *x.shape[axis:])
    return _with_axes(b, "Unsqueeze", x, [axis], shape)


def _with_axes(
    b: GraphBuilder, op_type: str, x: Value, axes: list[int], shape: tuple[int, ...]
) -> Value:
    """Squeeze or Unsqueeze, the axes an attribute before opset 13 and an input from it."""
    if b.opset < 13:
        return b.node(op_type, [x.name], shape, x.dtype, axes=axes)
    return b.node(op_type, [x.name, b.ints(axes)], shape, x.dtype)


def _expand(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    target = tuple(draw(st.sampled_from([s, 3])) if s == 1 else s for s in x.shape)
    if draw(st.booleans()) and x.rank < 4:
        target = (2, *target)
    return b.node("Expand", [x.name, b.ints(list(target))], target, x.dtype)


def _split(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    """Split in two along an axis, one part kept (the other may feed a later Add or Sum)."""
    axis = draw(st.integers(0, x.rank - 1))
    size = x.shape[axis]
    if size < 2:
        return x
    first = draw(st.integers(1, size - 1))
    shapes = [
        tuple(n if d == axis else s for d, s in enumerate(x.shape)) for n in (first, size - first)
    ]
    names = [b.fresh("split"), b.fresh("split")]
    sizes = [first, size - first]
    if b.opset < 13:
        split = helper.make_node("Split", [x.name], names, axis=axis, split=sizes)
    else:
        split = helper.make_node("Split", [x.name, b.ints(sizes)], names, axis=axis)
    b.nodes.append(split)
    parts = [Value(name, shape, x.dtype) for name, shape in zip(names, shapes, strict=True)]
    b.values.extend(parts)
    return draw(st.sampled_from(parts))


def _select(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    """Where(x == c, x, y) with c and y constants."""
    threshold = b.constant(np.array(draw(st.sampled_from([0, 1])), x.dtype))
    condition = b.node("Equal", [x.name, threshold], x.shape, np.dtype(bool))
    other = b.constant(b.random(_broadcastable_shape(draw, x.shape), x.dtype))
    return b.node("Where", [condition.name, x.name, other], x.shape, x.dtype)


def _power(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    exponent = draw(st.sampled_from([2.0, 3.0, 0.5, -1.0]))
    if exponent in (0.5, -1.0):  # a positive base away from 0, as for POSITIVE_ONLY
        x = b.node("Tanh", [x.name], x.shape, x.dtype)
        x = b.node("Sigmoid", [x.name], x.shape, x.dtype)
    return b.node("Pow", [x.name, b.constant(np.float32(exponent))], x.shape, x.dtype)


def _sum(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    same = [v.name for v in b.values if v.shape == x.shape and v.dtype == x.dtype]
    operands = [x.name, *draw(st.lists(st.sampled_from(same), min_size=1, max_size=3))]
    return b.node("Sum", operands, x.shape, x.dtype)


def _cast_round_trip(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    """Cast to another dtype and back: float -> int32 truncates, int -> float is exact here."""
    if x.is_float:
        scaled = b.node("Mul", [x.name, b.constant(np.float32(4.0))], x.shape, x.dtype)
        whole = b.node("Cast", [scaled.name], x.shape, np.dtype(np.int32), to=6)
        return b.node("Cast", [whole.name], x.shape, x.dtype, to=1)
    target = draw(st.sampled_from([(np.int64, 7), (np.int32, 6)]))
    return b.node("Cast", [x.name], x.shape, np.dtype(target[0]), to=target[1])


def _conv_transpose(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    n, c, h, w = x.shape
    kernel = draw(st.sampled_from([2, 3]))
    stride = draw(st.sampled_from([1, 2]))
    pad = draw(st.integers(0, kernel - 1))
    out_channels = draw(st.sampled_from([2, 4, 8]))
    inputs = [x.name, b.weight((c, out_channels, kernel, kernel), (c * kernel**2) ** -0.5)]
    if draw(st.booleans()):
        inputs.append(b.weight((out_channels,)))
    out_h = (h - 1) * stride - 2 * pad + kernel
    out_w = (w - 1) * stride - 2 * pad + kernel
    return b.node(
        "ConvTranspose",
        inputs,
        (n, out_channels, out_h, out_w),
        x.dtype,
        accumulation=c * kernel**2,
        kernel_shape=[kernel, kernel],
        strides=[stride, stride],
        pads=[pad] * 4,
    )


ANY_RANK: list[OpBuilder] = [
    _unary,
    _activation,
    _binary,
    _binary,
    _softmax,
    _reduce,
    _transpose,
    _reshape,
    _slice,
    _concat,
    _gather,
    _pad,
    _squeeze_unsqueeze,
    _expand,
    _split,
    _select,
    _power,
    _sum,
    _cast_round_trip,
]
IMAGE: list[OpBuilder] = [
    _conv_chain,
    _conv_chain,
    _conv_block,
    _conv_block,
    _conv_block,
    _siblings,
    _pool,
    _pool,
    _batch_norm,
    _conv_transpose,
    _resize,
    _lrn,
]
MATRIX: list[OpBuilder] = [_matmul, _matmul, _layer_norm, _siblings, _batched_matmul]


def _next_op(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    choices = list(ANY_RANK)
    if x.rank == 4:
        choices += IMAGE * 2
    if x.rank in (2, 3):
        choices += MATRIX * 2
    if x.rank == 2:
        choices.append(_gemm)
    if b.opset < 17:
        choices = [op for op in choices if op is not _layer_norm]
    return draw(st.sampled_from(choices))(draw, b, x)


@st.composite
def float_graphs(draw: Draw, max_ops: int = 6) -> GraphCase:
    """A chain of up to `max_ops` op groups on an image or matrix input, its last value (and
    sometimes an earlier one) as outputs."""
    b = GraphBuilder(
        draw(st.sampled_from(OPSETS)), np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    )
    if draw(st.booleans()):
        channels = draw(st.sampled_from([1, 3, 4, 8, 16, 16, 32]))
        side = draw(st.sampled_from([5, 7, 8, 12, 12, 14]))
        x = b.input(
            (draw(st.sampled_from([1, 1, 2])), channels, side, side + draw(st.integers(-1, 1))),
            np.dtype(np.float32),
        )
        if draw(st.booleans()):
            x = _conv_chain(draw, b, x)
    else:
        shape = draw(st.sampled_from([(4, 8), (6, 16), (2, 5, 12), (3, 7), (2, 4, 33)]))
        x = b.input(shape, np.dtype(np.float32))
    outputs = []
    for _ in range(draw(st.integers(1, max_ops))):
        try:
            x = _next_op(draw, b, x)
        except TooLarge:
            break
        if draw(st.integers(0, 9)) == 0 and x.name not in [o.name for o in outputs]:
            outputs.append(x)
    if x.name in b.feeds:
        x = b.node("Relu", [x.name], x.shape, x.dtype)
    if x not in outputs:
        outputs.append(x)
    return b.case(outputs)


INTEGER_BINARY = ["Add", "Sub", "Mul", "Div", "Mod", "Max", "Min"]


def _integer_unary(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    """Neg (wrapping MIN to MIN), Clip with constant bounds, Relu (integer from opset 14;
    onnxruntime has an int32 one only)."""
    int32_relu = x.dtype == np.int32 and b.opset >= 14
    op_type = draw(st.sampled_from(["Neg", "Clip"] + ["Relu"] * int32_relu))
    if op_type == "Clip":
        bounds = sorted(_integers(draw, b, (2,), x.dtype).tolist())
        operands = [x.name, *(b.constant(np.array(bound, x.dtype)) for bound in bounds)]
        return b.node("Clip", operands, x.shape, x.dtype)
    return b.node(op_type, [x.name], x.shape, x.dtype)


INTEGER_ANY_RANK: list[OpBuilder] = [
    _transpose,
    _reshape,
    _slice,
    _concat,
    _gather,
    _pad,
    _squeeze_unsqueeze,
    _expand,
    _split,
    _select,
    _cast_round_trip,
    _reduce,
    _integer_unary,
]


def _integer_binary(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    """x op y with y a constant or input that broadcasts; a divisor is never 0 or -1 (where
    onnxruntime fails or traps)."""
    op_type = draw(st.sampled_from(INTEGER_BINARY))
    shape = _broadcastable_shape(draw, x.shape)
    feed = _integers(draw, b, shape, x.dtype)
    divides = op_type in ("Div", "Mod")
    if divides:
        feed = np.where((feed == 0) | (feed == -1), 3, feed).astype(x.dtype)
    other = b.constant(feed) if draw(st.booleans()) else b.input(shape, x.dtype, feed).name
    operands = [x.name, other]
    if not divides and draw(st.booleans()):
        operands.reverse()
    attributes = {"fmod": draw(st.sampled_from([0, 1]))} if op_type == "Mod" else {}
    return b.node(op_type, operands, broadcast_shape(x.shape, shape), x.dtype, **attributes)


def _integers(draw: Draw, b: GraphBuilder, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """Small values, or values over the whole range so that sums and products wrap."""
    if draw(st.booleans()):
        return b.random(shape, dtype)
    limits = np.iinfo(dtype)
    return b.rng.integers(limits.min, limits.max, size=shape, endpoint=True).astype(dtype)


@st.composite
def integer_graphs(draw: Draw, max_ops: int = 5) -> GraphCase:
    """Integer arithmetic (wrapping on overflow, division truncating) mixed with data movement,
    on int32 or int64."""
    b = GraphBuilder(
        draw(st.sampled_from(OPSETS)), np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    )
    dtype = np.dtype(draw(st.sampled_from([np.int32, np.int64])))
    shape = draw(st.sampled_from([(6,), (3, 4), (2, 3, 5), (1, 4, 3, 3)]))
    x = b.input(shape, dtype, _integers(draw, b, shape, dtype))
    for _ in range(draw(st.integers(1, max_ops))):
        op = draw(st.sampled_from([_integer_binary] * 3 + INTEGER_ANY_RANK))
        try:
            x = op(draw, b, x)
        except TooLarge:
            break
    if x.name in b.feeds:
        x = b.node("Neg", [x.name], x.shape, x.dtype)
    return b.case([x])


def graphs() -> st.SearchStrategy[GraphCase]:
    """Float and integer graphs, float ones three times as often."""
    return st.one_of(float_graphs(), float_graphs(), float_graphs(), integer_graphs())
