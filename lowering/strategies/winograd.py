"""Strategies for the Winograd transforms (graph.winograd_input, graph.winograd_output).

Each element is a sum over the (tile + 2)^2 window of products with the transform matrices'
entries. The entry for a position is picked by a select chain on the position index; within
a schedule's vector loop (the channel lanes) it is uniform, and LLVM hoists it out of the
loops that do not move it. The channel index stays innermost, the dim schedules vectorize.
"""

from collections.abc import Sequence

import numpy as np
from xdsl.ir import Operation, SSAValue

from ziggurat.dialects import graph
from ziggurat.lowering import te_builder as tb
from ziggurat.lowering.strategies.base import result_shape


def _entry(matrix: np.ndarray, row: SSAValue, column: int) -> SSAValue:
    """matrix[row, column] for a runtime row index, as a chain of selects."""
    value = tb.const_float(float(matrix[-1, column]))
    for r in range(matrix.shape[0] - 2, -1, -1):
        chosen = tb.index_equal(row, tb.const_index(r))
        value = tb.select(chosen, tb.const_float(float(matrix[r, column])), value)
    return value


def _weighted_sum(terms: list[tuple[SSAValue, SSAValue]]) -> SSAValue:
    total: SSAValue | None = None
    for weight, value in terms:
        product = tb.mul(weight, value)
        total = product if total is None else tb.add(total, product)
    assert total is not None
    return total


def winograd_input(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    """v[e, t, c] = sum over (a, b) of B^T[e / alpha, a] * B^T[e % alpha, b] *
    x[n, c / cb, ty * m + a - top, tx * m + b - left, c % cb], zero outside the input."""
    assert isinstance(op, graph.WinogradInputOp)
    (x,) = args
    tile = op.tile.value.data
    top, left, bottom, right = op.pad_values
    bt, _, _ = graph.winograd_matrices(tile)
    alpha = tile + 2
    batch, blocks, height, width, block = graph.tensor_shape(x)
    rows, cols = graph.tile_grid(height + top + bottom - 2, width + left + right - 2, tile)
    checked = [False, False, True, True, False]

    def element(idx: Sequence[SSAValue]) -> SSAValue:
        e, t, c = idx
        row, column = tb.delinearize(e, [alpha, alpha])
        n, tile_row, tile_column = tb.delinearize(t, [batch, rows, cols])
        outer, inner = tb.delinearize(c, [blocks, block])
        terms = []
        for a in range(alpha):
            h = tb.index_sub(tb.index_mul(tile_row, tile), tb.const_index(top - a))
            for b in range(alpha):
                v = tb.index_sub(tb.index_mul(tile_column, tile), tb.const_index(left - b))
                weight = tb.mul(_entry(bt, row, a), _entry(bt, column, b))
                terms.append((weight, tb.read_or(x, [n, outer, h, v, inner], 0.0, checked)))
        return _weighted_sum(terms)

    return tb.compute(result_shape(op), element, tag="winograd_input")


def winograd_output(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    """y[n, K, h, w, k] = bias[K*kb + k] + sum over (a, b) of A^T[h % m, a] * A^T[w % m, b] *
    m[a * alpha + b, tile of (n, h / m, w / m), K*kb + k]."""
    assert isinstance(op, graph.WinogradOutputOp)
    m, bias = args
    tile = op.tile.value.data
    _, _, at = graph.winograd_matrices(tile)
    alpha = tile + 2
    batch, blocks, height, width, block = result_shape(op)
    rows, cols = graph.tile_grid(height, width, tile)

    def element(idx: Sequence[SSAValue]) -> SSAValue:
        n, outer, h, w, inner = idx
        tile_row, i = tb.delinearize(h, [rows, tile])
        tile_column, j = tb.delinearize(w, [cols, tile])
        t = tb.linearize([n, tile_row, tile_column], [batch, rows, cols])
        channel = tb.linearize([outer, inner], [blocks, block])
        terms = []
        for a in range(alpha):
            for b in range(alpha):
                weight = tb.mul(_entry(at, i, a), _entry(at, j, b))
                terms.append((weight, tb.read(m, [tb.const_index(a * alpha + b), t, channel])))
        return tb.add(_weighted_sum(terms), tb.read(bias, [channel]))

    return tb.compute(result_shape(op), element, tag="winograd_output")
