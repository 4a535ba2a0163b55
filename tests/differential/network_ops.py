"""Op builders for the image (NCHW) and matrix families of the differential graphs: the
convolution chains, pools and resizes that fusion, the blocked layout and Winograd rewrite,
and the matmuls, Gemms and layer norms of transformer-like graphs."""

import numpy as np
from hypothesis import strategies as st

from .graphs import Draw, GraphBuilder, Value, broadcast_shape


def conv(draw: Draw, b: GraphBuilder, x: Value) -> Value:
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


def batch_norm(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    c = x.shape[1]
    variance = b.constant(b.rng.uniform(0.5, 2.0, c).astype(np.float32))
    operands = [x.name, b.weight((c,)), b.weight((c,)), b.weight((c,)), variance]
    epsilon = draw(st.sampled_from([1e-5, 1e-3]))
    return b.node("BatchNormalization", operands, x.shape, x.dtype, epsilon=epsilon)


def conv_block(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    """Conv, maybe BatchNormalization, maybe an activation: what fusion and layout rewrite."""
    y = conv(draw, b, x)
    if draw(st.booleans()):
        y = batch_norm(draw, b, y)
    if draw(st.booleans()):
        y = b.node(
            draw(st.sampled_from(["Relu", "Relu", "Sigmoid", "Tanh"])), [y.name], y.shape, y.dtype
        )
    return y


def conv_chain(draw: Draw, b: GraphBuilder, x: Value) -> Value:
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
            y = batch_norm(draw, b, y)
        if draw(st.booleans()) and y.shape == x.shape:
            y = b.node("Add", [y.name, x.name], y.shape, y.dtype)
        if draw(st.booleans()):
            y = b.node(draw(st.sampled_from(["Relu", "Sigmoid"])), [y.name], y.shape, y.dtype)
        x = y
    return x


def siblings(draw: Draw, b: GraphBuilder, x: Value) -> Value:
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


def pool(draw: Draw, b: GraphBuilder, x: Value) -> Value:
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


def resize(draw: Draw, b: GraphBuilder, x: Value) -> Value:
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


def lrn(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    size = draw(st.sampled_from([1, 3, 5]))
    return b.node("LRN", [x.name], x.shape, x.dtype, size=size, alpha=1e-3, beta=0.75, bias=1.0)


def batched_matmul(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    """x @ y with y fed at run time and its batch dims broadcasting against x's."""
    k = x.shape[-1]
    n = draw(st.integers(1, 9))
    batch = x.shape[:-2]
    batch = draw(st.sampled_from([batch, tuple(1 for _ in batch), (2, *batch)]))
    y = b.input((*batch, k, n), x.dtype)
    shape = (*broadcast_shape(x.shape[:-2], batch), x.shape[-2], n)
    return b.node("MatMul", [x.name, y.name], shape, x.dtype, accumulation=k)


def matmul(draw: Draw, b: GraphBuilder, x: Value) -> Value:
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


def gemm(draw: Draw, b: GraphBuilder, x: Value) -> Value:
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


def layer_norm(draw: Draw, b: GraphBuilder, x: Value) -> Value:
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


def conv_transpose(draw: Draw, b: GraphBuilder, x: Value) -> Value:
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
