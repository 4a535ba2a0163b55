"""Hypothesis strategies drawing small random ONNX graphs over the ops Ziggurat supports.

Float graphs start from an NCHW image or a [batch,] rows x features matrix and apply a chain
of ops, each drawn from those the current value's rank allows; channel counts of 8, 16 and 32
and images of 12 to 14 pixels come up often enough that opt_level 3 blocks the convolution
chains (graph-alter-layout wants two convertible convolutions) and computes their 3x3 stride-1
convolutions with Winograd's transforms (at least 16 input channels and 32 tiles). Integer
graphs chain elementwise arithmetic, with divisors kept away from zero (onnxruntime refuses
it; tests/differential/test_numeric_edges.py covers it) and overflowing products left to wrap.
"""

import numpy as np
from hypothesis import strategies as st
from onnx import helper

from .graphs import (
    OPSETS,
    Draw,
    GraphBuilder,
    GraphCase,
    OpBuilder,
    TooLarge,
    Value,
    broadcast_shape,
)
from .network_ops import (
    batch_norm,
    batched_matmul,
    conv_block,
    conv_chain,
    conv_transpose,
    gemm,
    layer_norm,
    lrn,
    matmul,
    pool,
    resize,
    siblings,
)

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
    """Where(x == c, x, y) with c and y constants; for floats Where(Relu(x) == 0, x, y), since
    a computed float equals a constant by the luck of its rounding (a Sigmoid of 17.3 is
    1.0 or 0.99999994 depending on how it is evaluated), while Relu is 0 for all x <= 0."""
    if x.is_float:
        rectified = b.node("Relu", [x.name], x.shape, x.dtype)
        zero = b.constant(np.array(0, x.dtype))
        condition = b.node("Equal", [rectified.name, zero], x.shape, np.dtype(bool))
    else:
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
    """Cast to another dtype and back: float -> int32 truncates 4 x + 0.37 (the offset keeps
    the values saturating ops land on exactly, 0 and +-1, away from the truncation's steps),
    int -> float is exact here."""
    if x.is_float:
        scaled = b.node("Mul", [x.name, b.constant(np.float32(4.0))], x.shape, x.dtype)
        shifted = b.node("Add", [scaled.name, b.constant(np.float32(0.37))], x.shape, x.dtype)
        whole = b.node("Cast", [shifted.name], x.shape, np.dtype(np.int32), to=6)
        return b.node("Cast", [whole.name], x.shape, x.dtype, to=1)
    target = draw(st.sampled_from([(np.int64, 7), (np.int32, 6)]))
    return b.node("Cast", [x.name], x.shape, np.dtype(target[0]), to=target[1])


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
    conv_chain,
    conv_chain,
    conv_block,
    conv_block,
    conv_block,
    siblings,
    pool,
    pool,
    batch_norm,
    conv_transpose,
    resize,
    lrn,
]
MATRIX: list[OpBuilder] = [matmul, matmul, layer_norm, siblings, batched_matmul]


def _next_op(draw: Draw, b: GraphBuilder, x: Value) -> Value:
    choices = list(ANY_RANK)
    if x.rank == 4:
        choices += IMAGE * 2
    if x.rank in (2, 3):
        choices += MATRIX * 2
    if x.rank == 2:
        choices.append(gemm)
    if b.opset < 17:
        choices = [op for op in choices if op is not layer_norm]
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
            x = conv_chain(draw, b, x)
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
