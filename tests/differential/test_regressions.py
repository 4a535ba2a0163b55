"""Graphs the differential campaign found mismatching onnxruntime, one test per bug, each
written out with GraphBuilder rather than drawn."""

import numpy as np

from .graphs import GraphBuilder, Value
from .harness import check


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
