"""NaN and infinities through every op family, integer division by zero and by -1, and integer
overflow, each against onnxruntime at opt_level 0 and 3.

Float outputs must put NaN and infinities exactly where onnxruntime does and match it
elsewhere (harness.difference). Integer division by zero fails the run with an error naming
the node, as onnxruntime's does (the compiled code checks the divisor; the kernel itself
never traps); MIN / -1 wraps to MIN, as onnxruntime's int32 Div gives (its int64 one dies
of SIGFPE). Those run in a subprocess so that a trap would fail the test rather than end
the run.
"""

import dataclasses
import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from .graphs import GraphBuilder, Value
from .harness import OPT_LEVELS, check, onnxruntime_outputs, ziggurat_outputs

SHAPE = (2, 4, 5, 5)


def special_values(shape: tuple[int, ...] = SHAPE, seed: int = 0) -> np.ndarray:
    """Normal values with NaN, +Inf, -Inf, 0 and -0 scattered through them (each in its own
    spot)."""
    rng = np.random.default_rng(seed)
    values = rng.standard_normal(shape).astype(np.float32)
    flat = values.reshape(-1)
    spots = rng.choice(flat.size, size=11, replace=False)
    flat[spots[:3]] = np.nan
    flat[spots[3:6]] = np.inf
    flat[spots[6:9]] = -np.inf
    flat[spots[9]], flat[spots[10]] = 0.0, -0.0
    return values


def image_input(b: GraphBuilder, shape: tuple[int, ...] = SHAPE) -> Value:
    return b.input(shape, np.dtype(np.float32), special_values(shape))


def unary(op_type: str, **attributes: object) -> Callable[[GraphBuilder], Value]:
    def build(b: GraphBuilder) -> Value:
        x = image_input(b)
        return b.node(op_type, [x.name], x.shape, x.dtype, **attributes)

    return build


def binary(op_type: str) -> Callable[[GraphBuilder], Value]:
    """x op y with specials in both operands, y broadcast over the channels."""

    def build(b: GraphBuilder) -> Value:
        x = image_input(b)
        y = b.input(
            (4, 1, 1),
            np.dtype(np.float32),
            np.array([np.nan, np.inf, -np.inf, 0.0], np.float32).reshape(4, 1, 1),
        )
        return b.node(op_type, [x.name, y.name], x.shape, x.dtype)

    return build


def clip(b: GraphBuilder) -> Value:
    x = image_input(b)
    bounds = [b.constant(np.float32(-1.0)), b.constant(np.float32(1.0))]
    return b.node("Clip", [x.name, *bounds], x.shape, x.dtype)


def conv(b: GraphBuilder) -> Value:
    x = image_input(b, (1, 16, 6, 6))
    weight = b.weight((16, 16, 3, 3), 0.1)
    return b.node(
        "Conv", [x.name, weight], (1, 16, 6, 6), x.dtype, pads=[1, 1, 1, 1], kernel_shape=[3, 3]
    )


def winograd_convs(b: GraphBuilder) -> Value:
    """Two 3x3 convolutions of 16 channels at 12x12, which opt_level 3 computes with Winograd's
    F(2x2, 3x3) (its transforms add and subtract whole tiles of inputs)."""
    x = image_input(b, (1, 16, 12, 12))
    for _ in range(2):
        weight = b.weight((16, 16, 3, 3), 0.1)
        attributes = {"pads": [1, 1, 1, 1], "kernel_shape": [3, 3]}
        x = b.node("Conv", [x.name, weight], x.shape, x.dtype, **attributes)
    return x


def matmul(b: GraphBuilder) -> Value:
    x = image_input(b, (6, 8))
    return b.node("MatMul", [x.name, b.weight((8, 5))], (6, 5), x.dtype)


def gemm(b: GraphBuilder) -> Value:
    x = image_input(b, (6, 8))
    return b.node("Gemm", [x.name, b.weight((5, 8)), b.weight((5,))], (6, 5), x.dtype, transB=1)


def softmax(b: GraphBuilder) -> Value:
    x = image_input(b)
    return b.node("Softmax", [x.name], x.shape, x.dtype, axis=-1)


def layer_norm(b: GraphBuilder) -> Value:
    x = image_input(b)
    return b.node("LayerNormalization", [x.name, b.weight((5,))], x.shape, x.dtype, axis=-1)


def batch_norm(b: GraphBuilder) -> Value:
    x = image_input(b)
    variance = b.constant(np.full(4, 1.5, np.float32))
    inputs = [x.name, b.weight((4,)), b.weight((4,)), b.weight((4,)), variance]
    return b.node("BatchNormalization", inputs, x.shape, x.dtype)


def reduce(op_type: str) -> Callable[[GraphBuilder], Value]:
    def build(b: GraphBuilder) -> Value:
        x = image_input(b)
        return b.node(op_type, [x.name, b.ints([2, 3])], (2, 4, 1, 1), x.dtype)

    return build


def pool(op_type: str, **attributes: object) -> Callable[[GraphBuilder], Value]:
    def build(b: GraphBuilder) -> Value:
        x = image_input(b)
        out = (2, 4, 1, 1) if op_type.startswith("Global") else (2, 4, 4, 4)
        return b.node(op_type, [x.name], out, x.dtype, **attributes)

    return build


FLOAT_CASES: dict[str, Callable[[GraphBuilder], Value]] = {
    **{op: unary(op) for op in ["Relu", "Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Erf", "Neg"]},
    "Reciprocal": unary("Reciprocal"),
    "Gelu": unary("Gelu"),
    "Gelu-tanh": unary("Gelu", approximate="tanh"),
    "LeakyRelu": unary("LeakyRelu", alpha=0.1),
    "HardSigmoid": unary("HardSigmoid"),
    "HardSwish": unary("HardSwish"),
    "Clip": clip,
    **{op: binary(op) for op in ["Add", "Sub", "Mul", "Div", "Max", "Min", "Pow"]},
    "Softmax": softmax,
    "LayerNormalization": layer_norm,
    "BatchNormalization": batch_norm,
    **{op: reduce(op) for op in ["ReduceMean", "ReduceSum"]},
    "AveragePool": pool("AveragePool", kernel_shape=[2, 2]),
    "GlobalAveragePool": pool("GlobalAveragePool"),
    "Conv": conv,
    "Conv-Winograd": winograd_convs,
    "MatMul": matmul,
    "Gemm": gemm,
}


@pytest.mark.parametrize("name", FLOAT_CASES)
def test_nan_and_infinities_propagate_as_in_onnxruntime(name: str) -> None:
    b = GraphBuilder(20, np.random.default_rng(1))
    outcome = check(b.case([FLOAT_CASES[name](b)]))
    assert not outcome.failed, outcome.report()
    assert not outcome.refused, outcome.refused


WINDOW_EXTREMES: dict[str, tuple[Callable[[GraphBuilder], Value], float]] = {
    "ReduceMax": (reduce("ReduceMax"), 1.0),
    "ReduceMin": (reduce("ReduceMin"), -1.0),
    "MaxPool": (pool("MaxPool", kernel_shape=[2, 2]), 1.0),
    "GlobalMaxPool": (pool("GlobalMaxPool"), 1.0),
}
"""Maxima and minima over windows, with the sign that makes a window's NaN indicator show
through the op (the max of the indicator, the min of its negation)."""


@pytest.mark.parametrize("name", WINDOW_EXTREMES)
def test_nan_in_a_window_makes_its_maximum_or_minimum_nan(name: str) -> None:
    """onnxruntime's answer here depends on where the NaN sits in the window (a running
    `a < b ? b : a` keeps a NaN met first and drops one met later), so it is no reference;
    Ziggurat's maxima and minima propagate NaN, as numpy's do. Checked: NaN exactly where the
    window holds one (the op run by onnxruntime on the NaN indicator), onnxruntime's values
    everywhere else."""
    build, sign = WINDOW_EXTREMES[name]
    b = GraphBuilder(20, np.random.default_rng(1))
    case = b.case([build(b)])
    expected = onnxruntime_outputs(case)[0]
    [feed_name] = case.feeds
    indicator = sign * np.isnan(case.feeds[feed_name]).astype(np.float32)
    windows = dataclasses.replace(case, feeds={feed_name: indicator})
    holds_nan = sign * onnxruntime_outputs(windows)[0] > 0
    assert holds_nan.any() and not holds_nan.all()
    for level in OPT_LEVELS:
        ours = ziggurat_outputs(case, level)[0]
        np.testing.assert_array_equal(np.isnan(ours), holds_nan)
        np.testing.assert_array_equal(ours[~holds_nan], expected[~holds_nan])


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
@pytest.mark.parametrize("op_type", ["Add", "Sub", "Mul"])
def test_integer_overflow_wraps_as_in_onnxruntime(op_type: str, dtype: type) -> None:
    limits = np.iinfo(dtype)
    b = GraphBuilder(17, np.random.default_rng(2))
    edges = np.array([limits.max, limits.min, limits.max, limits.min, 3, -7], dtype)
    x = b.input((6,), np.dtype(dtype), edges)
    y = b.input((6,), np.dtype(dtype), np.array([1, -1, limits.max, limits.min, 5, 2], dtype))
    outcome = check(b.case([b.node(op_type, [x.name, y.name], (6,), x.dtype)]))
    assert not outcome.failed, outcome.report()


DIVISION_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    sys.path.insert(0, {tests!r})
    from differential.graphs import GraphBuilder
    from differential.harness import ziggurat_outputs

    from ziggurat.runtime import RunError

    results = {{}}
    for dtype in (np.int32, np.int64):
        low = np.iinfo(dtype).min
        dividend = np.array([7, -7, 0, low, low, 9, -9], dtype)
        divisor = np.array([3, 3, -5, -1, 1, -2, 4], dtype)
        for op_type, fmod in (("Div", 0), ("Mod", 0), ("Mod", 1)):
            attributes = {{"fmod": fmod}} if op_type == "Mod" else {{}}
            b = GraphBuilder(17, np.random.default_rng(0))
            x = b.input((7,), np.dtype(dtype), dividend)
            y = b.input((7,), np.dtype(dtype), divisor)
            case = b.case([b.node(op_type, [x.name, y.name], (7,), x.dtype, **attributes)])
            for level in (0, 3):
                key = f"{{op_type}}{{fmod}} {{np.dtype(dtype).name}} {{level}}"
                results[key] = ziggurat_outputs(case, level)[0].tolist()
                case.feeds[y.name] = np.where(divisor == -2, 0, divisor).astype(dtype)
                try:
                    ziggurat_outputs(case, level)
                    results[key + " by 0"] = "no error"
                except RunError as err:
                    results[key + " by 0"] = str(err)
                case.feeds[y.name] = divisor
    print(json.dumps(results))
    """
)


def test_integer_division_by_zero_fails_the_run_and_min_by_minus_one_wraps() -> None:
    """Quotients truncate toward zero and MIN / -1 is MIN; remainders take the divisor's sign
    (fmod=0) or the dividend's (fmod=1), as onnxruntime's do; a zero divisor anywhere fails
    the run with a RunError naming the node, and the next run is unaffected."""
    script = DIVISION_SCRIPT.format(tests=str(Path(__file__).resolve().parent.parent))
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"exit status {done.returncode}: {done.stderr[-2000:]}"
    results = json.loads(done.stdout.splitlines()[-1])
    for dtype in (np.int32, np.int64):
        low = int(np.iinfo(dtype).min)
        expected = {
            "Div0": [2, -2, 0, low, low, -4, -2],
            "Mod0": [1, 2, 0, 0, 0, -1, 3],
            "Mod1": [1, -1, 0, 0, 0, 1, -1],
        }
        for key, values in expected.items():
            op_type = key[:3]
            for level in (0, 3):
                name = f"{key} {np.dtype(dtype).name} {level}"
                assert results[name] == values, name
                assert "integer division by zero in node" in results[name + " by 0"], name
                assert f"({op_type})" in results[name + " by 0"], name


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_cast_of_nan_and_infinities_to_integers(dtype: type) -> None:
    """Converting NaN or an infinity to an integer is undefined in C++ and in LLVM (a poison
    value, no trap), so only the finite elements are compared with onnxruntime; the others
    just must not stop the run."""
    b = GraphBuilder(17, np.random.default_rng(3))
    x = image_input(b)
    scaled = b.node("Mul", [x.name, b.constant(np.float32(100.0))], x.shape, x.dtype)
    to = 6 if dtype is np.int32 else 7
    case = b.case([b.node("Cast", [scaled.name], x.shape, np.dtype(dtype), to=to)])
    finite = np.isfinite(case.feeds[x.name])
    expected = onnxruntime_outputs(case)[0]
    for level in OPT_LEVELS:
        ours = ziggurat_outputs(case, level)[0]
        np.testing.assert_array_equal(ours[finite], expected[finite])


def test_sigmoid_keeps_its_tail() -> None:
    """onnxruntime's Sigmoid gives 0 from about -18 down (and 8.9e-8 for 4.1e-8 at -17);
    Ziggurat's follows 1 / (1 + exp(-x)) down to fp32's smallest normals, so it is compared
    with that in float64 instead. (The differential strategies keep the reciprocals and logs
    of sigmoids away from that tail.)"""
    b = GraphBuilder(17, np.random.default_rng(0))
    values = np.array([-10, -17, -18, -22, -30, -80, -90, 20], np.float32)
    x = b.input(values.shape, np.dtype(np.float32), values)
    case = b.case([b.node("Sigmoid", [x.name], x.shape, x.dtype)])
    exact = 1 / (1 + np.exp(-values.astype(np.float64)))
    for level in OPT_LEVELS:
        np.testing.assert_allclose(ziggurat_outputs(case, level)[0], exact, rtol=1e-5, atol=1e-38)
