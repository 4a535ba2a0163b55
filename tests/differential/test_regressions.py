"""Graphs the differential campaign found mismatching onnxruntime, one test per bug, each
written out with GraphBuilder rather than drawn."""

import numpy as np
import pytest

from .graphs import GraphBuilder, Value
from .harness import OPT_LEVELS, check, ziggurat_outputs


def builder(opset: int = 17) -> GraphBuilder:
    return GraphBuilder(opset, np.random.default_rng(0))


def assert_matches(b: GraphBuilder, outputs: list[Value]) -> None:
    outcome = check(b.case(outputs))
    assert not outcome.failed, outcome.report()


def test_int64_scalar_constant_keeps_all_its_digits() -> None:
    """A splat int64 constant went through a float on its way into the kernel, rounding
    8006689655698007698 to a multiple of 1024."""
    b = builder()
    x = b.input((3, 5), np.dtype(np.int64))
    big = b.constant(np.int64(8006689655698007698))
    assert_matches(b, [b.node("Sub", [big, x.name], x.shape, x.dtype)])


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_integer_neg_wraps_min(dtype: type) -> None:
    """Neg of an integer tensor built a float negation, which failed to verify."""
    b = builder()
    x = b.input((2, 3), np.dtype(dtype), np.array([[np.iinfo(dtype).min, 5, -3]] * 2, dtype))
    assert_matches(b, [b.node("Neg", [x.name], x.shape, x.dtype)])


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
@pytest.mark.parametrize("op_type", ["ReduceSum", "ReduceMax", "ReduceMin"])
def test_integer_reductions(op_type: str, dtype: type) -> None:
    """Integer reductions started from a float identity and combined with float ops, which
    failed to verify. Sums wrap on overflow, as numpy's: int64 ones are checked against numpy,
    since onnxruntime's int64 ReduceSum rounds (MIN + 2 comes back as MIN) and its int32 one
    saturates."""
    low = np.iinfo(dtype).min
    b = builder(18)
    x = b.input((3, 4), np.dtype(dtype), np.array([[low, 5, -3, 0], [1, 2, 3, -4], [7] * 4], dtype))
    y = b.node(op_type, [x.name, b.ints([1])], (3, 1), x.dtype)
    if op_type == "ReduceSum" and dtype is np.int64:
        case = b.case([y])
        for level in OPT_LEVELS:
            expected = case.feeds[x.name].sum(axis=1, keepdims=True)
            np.testing.assert_array_equal(ziggurat_outputs(case, level)[0], expected)
        return
    assert_matches(b, [y])


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_constant_pad_of_integers(dtype: type) -> None:
    """The pad value of an integer tensor was made a float constant (an assertion in
    convert-graph-to-te)."""
    b = builder()
    x = b.input((2, 3), np.dtype(dtype))
    pads = b.ints([1, 0, 0, 2])
    value = b.constant(np.array(-4, dtype))
    assert_matches(b, [b.node("Pad", [x.name, pads, value], (3, 5), x.dtype, mode="constant")])


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_integer_clip_and_relu(dtype: type) -> None:
    """Clip and Relu of integers compared with float constants, which failed to verify; an
    int64 bound past 2**53 stays exact. (onnxruntime has no int64 Relu to compare with.)"""
    b = builder()
    low, high = np.iinfo(dtype).min, np.iinfo(dtype).max
    x = b.input((2, 4), np.dtype(dtype), np.array([[low, -5, 3, high]] * 2, dtype))
    bounds = [b.constant(np.array(low + 3, dtype)), b.constant(np.array(high - 1, dtype))]
    clipped = b.node("Clip", [x.name, *bounds], x.shape, x.dtype)
    if dtype is np.int32:
        clipped = b.node("Relu", [clipped.name], x.shape, x.dtype)
    assert_matches(b, [clipped])


@pytest.mark.parametrize("mode", ["nearest", "linear"])
def test_resize_align_corners_with_a_scale_that_does_not_divide(mode: str) -> None:
    """Resize by 1.5 of 7 rows (10 out) with align_corners mapped output row i to input
    i * 6 / 9.5 (onnx's reference) rather than i * 6 / 9 (the spec and onnxruntime)."""
    b = builder()
    x = b.input((1, 2, 7, 6), np.dtype(np.float32))
    scales = b.constant(np.array([1, 1, 1.5, 1.5], np.float32))
    attributes = {"mode": mode, "coordinate_transformation_mode": "align_corners"}
    assert_matches(b, [b.inferred("Resize", [x.name, "", scales], x.dtype, **attributes)])


def test_vectorized_loop_with_a_float_integer_round_trip() -> None:
    """Add -> Mul -> Cast(int32) -> Cast(float), fused into one vectorized loop at opt_level
    3, became arith.fptosi and arith.sitofp on vectors, which xDSL's verifier rejects (a
    PassFailure)."""
    b = builder()
    x = b.input((6, 16), np.dtype(np.float32))
    shifted = b.node("Add", [x.name, b.weight((16,))], x.shape, x.dtype)
    scaled = b.node("Mul", [shifted.name, b.constant(np.float32(4.0))], x.shape, x.dtype)
    whole = b.node("Cast", [scaled.name], x.shape, np.dtype(np.int32), to=6)
    assert_matches(b, [b.node("Cast", [whole.name], x.shape, x.dtype, to=1)])
