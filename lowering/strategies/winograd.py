"""Strategies for the Winograd transforms (graph.winograd_input, graph.winograd_output).

Both transforms are separable, M^T d M = rows, then columns: an element at position (p, q)
of a tile is the combination for row q (columns pass) of the combinations for row p (rows
pass), each a sum of the matrix row's nonzero entries times the window's values. The
position picks its row by a select chain over every row's sum. Unrolled over the positions
(the default schedule's selector loops), each copy keeps only its own sums, and copies that
share a row share its sums: about two adds per element for F(2x2, 3x3) where a dense
product takes 16 multiply-adds.
"""

from collections.abc import Sequence

import numpy as np
from xdsl.ir import Operation, SSAValue

from ziggurat.dialects import graph
from ziggurat.dialects import te_builder as tb
from ziggurat.lowering.strategies.base import result_shape


def _combination(coefficients: np.ndarray, values: Sequence[SSAValue]) -> SSAValue:
    """sum of c * v over the nonzero coefficients: +v and -v for c = +-1."""
    total: SSAValue | None = None
    for c, v in zip(coefficients.tolist(), values, strict=True):
        if c == 0:
            continue
        if abs(c) == 1:
            term, negative = v, c < 0
        else:
            term, negative = tb.mul(tb.const_float(abs(c)), v), c < 0
        if total is None:
            total = tb.neg(term) if negative else term
        else:
            total = tb.sub(total, term) if negative else tb.add(total, term)
    return total if total is not None else tb.const_float(0.0)


def _row_combination(matrix: np.ndarray, row: SSAValue, values: Sequence[SSAValue]) -> SSAValue:
    """matrix[row] . values for a runtime row: every row's combination, then a select chain."""
    sums = [_combination(matrix[r], values) for r in range(matrix.shape[0])]
    value = sums[-1]
    for r in range(len(sums) - 2, -1, -1):
        value = tb.select(tb.index_equal(row, tb.const_index(r)), sums[r], value)
    return value


def _separable(
    matrix: np.ndarray, p: SSAValue, q: SSAValue, window: list[list[SSAValue]]
) -> SSAValue:
    """(matrix . window . matrix^T)[p, q]: rows combined for p, then those for q."""
    columns = len(window[0])
    rows_pass = [_row_combination(matrix, p, [line[b] for line in window]) for b in range(columns)]
    return _row_combination(matrix, q, rows_pass)


def winograd_input(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    """v[e, t, c] = (B^T d B)[e / alpha, e % alpha] for the window d of tile t, channel c:
    d[a, b] = x[n, c / cb, ty * m + a - top, tx * m + b - left, c % cb], zero outside."""
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
        p, q = tb.delinearize(e, [alpha, alpha])
        n, tile_row, tile_column = tb.delinearize(t, [batch, rows, cols])
        outer, inner = tb.delinearize(c, [blocks, block])
        window = []
        for a in range(alpha):
            h = tb.index_sub(tb.index_mul(tile_row, tile), tb.const_index(top - a))
            line = []
            for b in range(alpha):
                v = tb.index_sub(tb.index_mul(tile_column, tile), tb.const_index(left - b))
                line.append(tb.read_or(x, [n, outer, h, v, inner], 0.0, checked))
            window.append(line)
        return _separable(bt, p, q, window)

    return tb.compute(result_shape(op), element, tag="winograd_input")


def winograd_output(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    """y[n, K, h, w, k] = bias[K*kb + k] + (A^T m A)[h % m, w % m] with m[a, b] the product
    at position a * alpha + b of the tile of (n, h / m, w / m), output channel K*kb + k."""
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
        window = [
            [tb.read(m, [tb.const_index(a * alpha + b), t, channel]) for b in range(alpha)]
            for a in range(alpha)
        ]
        return tb.add(_separable(at, i, j, window), tb.read(bias, [channel]))

    return tb.compute(result_shape(op), element, tag="winograd_output")
