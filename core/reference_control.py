"""The numpy reference's semantics of graph.if, graph.loop and graph.scan, given a way to run
a region's block (core/reference.py): ONNX's, rows of scan outputs past an early exit zero
as the compiled code leaves them."""

from collections.abc import Callable, Sequence

import numpy as np
from xdsl.ir import Block, Operation, SSAValue

from ziggurat.dialects import graph

RunBlock = Callable[[Block, dict[SSAValue, np.ndarray]], list[np.ndarray]]


def _truth(array: np.ndarray) -> bool:
    return bool(np.asarray(array).reshape(-1)[0])


def _if(op: graph.IfOp, values: dict[SSAValue, np.ndarray], run: RunBlock) -> list[np.ndarray]:
    region = op.then_region if _truth(values[op.cond]) else op.else_region
    return run(region.block, values)


def _loop(op: graph.LoopOp, values: dict[SSAValue, np.ndarray], run: RunBlock) -> list[np.ndarray]:
    if op.trip_count is not None:
        limit = op.trip_count.value.data
    elif op.max_trip_count is not None:
        limit = int(np.asarray(values[op.max_trip_count]).reshape(-1)[0])
    else:
        limit = 2**63 - 1
    cond = _truth(values[op.cond]) if op.cond is not None else True
    carried = [values[v].copy() for v in op.initial]
    scans = [np.zeros(graph.tensor_shape(r), graph_dtype(r)) for r in op.scan_outputs]
    block = op.body.block
    iteration = 0
    while iteration < limit and cond:
        scope = dict(values)
        scope[block.args[0]] = np.array(iteration, np.int64).reshape(
            graph.tensor_shape(block.args[0])
        )
        scope[block.args[1]] = np.array(cond).reshape(graph.tensor_shape(block.args[1]))
        scope.update(zip(block.args[2:], carried, strict=True))
        yielded = run(block, scope)
        cond = _truth(yielded[0])
        carried = [v.copy() for v in yielded[1 : 1 + len(carried)]]
        for scan, element in zip(scans, yielded[1 + len(carried) :], strict=True):
            scan[iteration] = element
        iteration += 1
    counts = [np.array(iteration, np.int64)] if op.counted is not None else []
    return [*carried, *scans, *counts]


def _scan(op: graph.ScanOp, values: dict[SSAValue, np.ndarray], run: RunBlock) -> list[np.ndarray]:
    in_axes, in_dirs, out_axes, out_dirs = op.axes()
    states = [values[v] for v in op.inputs[: op.state_count]]
    inputs = [values[v] for v in op.inputs[op.state_count :]]
    block = op.body.block
    elements: list[list[np.ndarray]] = []
    for step in range(op.length):
        scope = dict(values)
        slices = [
            np.take(x, op.length - 1 - step if direction else step, axis=axis)
            for x, axis, direction in zip(inputs, in_axes, in_dirs, strict=True)
        ]
        scope.update(zip(block.args, [*states, *slices], strict=True))
        yielded = run(block, scope)
        states = yielded[: len(states)]
        elements.append(yielded[len(states) :])
    outputs: list[np.ndarray] = list(states)
    for n, (axis, direction) in enumerate(zip(out_axes, out_dirs, strict=True)):
        rows = [step[n] for step in elements]
        outputs.append(np.stack(rows[::-1] if direction else rows, axis=axis))
    return outputs


def graph_dtype(value: SSAValue) -> np.dtype:
    element = graph.element_type_of(value)
    for dtype, candidate in graph.NUMPY_ELEMENT_TYPES.items():
        if candidate == element:
            return np.dtype(dtype)
    raise ValueError(f"no numpy type for {element}")


CONTROL_EVALUATORS: dict[type[Operation], Callable[..., Sequence[np.ndarray]]] = {
    graph.IfOp: _if,
    graph.LoopOp: _loop,
    graph.ScanOp: _scan,
}
"""Each control op's results from the op, the values in scope and a block runner."""
