"""What every strategy shares: its signature and small helpers."""

from collections.abc import Callable, Sequence

from xdsl.ir import Operation, SSAValue

from ziggurat.dialects import graph

Strategy = Callable[[Operation, Sequence[SSAValue]], SSAValue]
"""Builds the te computing `op` from the kernel values of its operands; returns the result."""


def result_shape(op: Operation) -> tuple[int, ...]:
    return graph.tensor_shape(op.results[0])
