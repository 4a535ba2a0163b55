"""Winograd's minimal filtering for 3x3 convolutions in blocked layouts (Lavin and Gray, 2015;
TVM's conv2d_winograd): F(m x m, 3 x 3) computes each m x m output tile from an
(m + 2) x (m + 2) input tile with (m + 2)^2 multiplications per channel pair instead of
9 m^2, as

    Y = A^T [ (G g G^T) * (B^T d B) ] A

summed over input channels. A convolution becomes three ops: graph.winograd_input
(B^T d B for every tile and channel), a batched graph.matmul with the weight transformed
at build time (G g G^T, one matrix per tile position), and graph.winograd_output (A^T . A,
plus the bias). The matrices are those of Lavin and Gray; `winograd_matrices` gives them.
"""

from collections.abc import Sequence

import numpy as np
from xdsl.dialects.builtin import DenseArrayBase, IntegerAttr, TensorType, i64
from xdsl.ir import SSAValue
from xdsl.irdl import (
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_op_definition,
    operand_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from ziggurat.dialects.graph.base import (
    check_result_shape,
    element_type_of,
    tensor_of,
    tensor_shape,
)

KERNEL = 3
"""The filter size the transforms are for."""

TILES = (2, 4)
"""The output tile sizes m with matrices here."""


def winograd_matrices(tile: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(B^T, G, A^T) of F(tile x tile, 3 x 3), as float64 arrays of shapes (a, a), (a, 3)
    and (tile, a) with a = tile + 2."""
    if tile == 2:
        bt = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
        g = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]]
        at = [[1, 1, 1, 0], [0, 1, -1, -1]]
    elif tile == 4:
        bt = [
            [4, 0, -5, 0, 1, 0],
            [0, -4, -4, 1, 1, 0],
            [0, 4, -4, -1, 1, 0],
            [0, -2, -1, 2, 1, 0],
            [0, 2, -1, -2, 1, 0],
            [0, 4, 0, -5, 0, 1],
        ]
        g = [
            [1 / 4, 0, 0],
            [-1 / 6, -1 / 6, -1 / 6],
            [-1 / 6, 1 / 6, -1 / 6],
            [1 / 24, 1 / 12, 1 / 6],
            [1 / 24, -1 / 12, 1 / 6],
            [0, 0, 1],
        ]
        at = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]
    else:
        raise ValueError(f"Winograd tiles are {' or '.join(map(str, TILES))}, not {tile}")
    return np.array(bt, np.float64), np.array(g, np.float64), np.array(at, np.float64)


def tile_grid(height: int, width: int, tile: int) -> tuple[int, int]:
    """Tiles along H and W covering an output of `height` x `width` (the last ones cut)."""
    return -(-height // tile), -(-width // tile)


def winograd_input_shape(x: Sequence[int], tile: int, pads: Sequence[int]) -> tuple[int, ...]:
    """[alpha^2, tiles, channels] for an NCHW[x]c input; raises ValueError when it is not
    rank 5 or the padded image is smaller than the filter."""
    if len(x) != 5:
        raise ValueError(f"the input must be NCHW[x]c (rank 5), got {list(x)}")
    height, width = x[2] + pads[0] + pads[2] - KERNEL + 1, x[3] + pads[1] + pads[3] - KERNEL + 1
    if height < 1 or width < 1:
        raise ValueError(f"the padded input {list(x)} is smaller than the 3x3 filter")
    rows, cols = tile_grid(height, width, tile)
    alpha = tile + KERNEL - 1
    return (alpha * alpha, x[0] * rows * cols, x[1] * x[4])


def _tile_attr(tile: int) -> IntegerAttr:
    return IntegerAttr(tile, i64)


def _check_tile(op: IRDLOperation, tile: int) -> None:
    if tile not in TILES:
        raise VerifyException(
            f"{op.name}: tile must be {' or '.join(map(str, TILES))}, got {tile}."
        )


@irdl_op_definition
class WinogradInputOp(IRDLOperation):
    """B^T d B for every (tile x tile) output tile d's (tile + 2)^2 input window and every
    channel of an NCHW[x]c input, zero padded by `pads` (top, left, bottom, right): result
    [e, t, c] with e = row * alpha + col the position in the transformed tile and t the tile,
    in (n, tile row, tile column) order.

        %v = graph.winograd_input %x {tile = 2 : i64, pads = array<i64: 1, 1, 1, 1>} : tensor<1x4x56x56x16xf32> -> tensor<16x784x64xf32>
    """

    name = "graph.winograd_input"
    input = operand_def(TensorType)
    tile = prop_def(IntegerAttr)
    pads = prop_def(DenseArrayBase.constr(i64))
    result = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, x: SSAValue, tile: int, pads: Sequence[int]):
        shape = winograd_input_shape(tensor_shape(x), tile, pads)
        super().__init__(
            operands=[x],
            properties={
                "tile": _tile_attr(tile),
                "pads": DenseArrayBase.from_list(i64, list(pads)),
            },
            result_types=[tensor_of(shape, element_type_of(x))],
        )

    @property
    def pad_values(self) -> tuple[int, ...]:
        return tuple(self.pads.get_values())

    def verify_(self) -> None:
        tile = self.tile.value.data
        _check_tile(self, tile)
        pads = self.pad_values
        if len(pads) != 4 or any(p < 0 for p in pads):
            raise VerifyException(f"{self.name}: pads must be 4 values >= 0, got {list(pads)}.")
        try:
            expected = winograd_input_shape(tensor_shape(self.input), tile, pads)
        except ValueError as err:
            raise VerifyException(f"{self.name}: {err}.") from err
        check_result_shape(self, expected, self.result.type)  # pyright: ignore[reportArgumentType]


@irdl_op_definition
class WinogradOutputOp(IRDLOperation):
    """A^T m A + bias for every tile of a batched product [e, t, k] (the layout of
    graph.winograd_input's result, with output channels k), cut to the NCHW[x]c result's
    height and width: the convolution's output.

        %y = graph.winograd_output %m, %b {tile = 2 : i64} : (tensor<16x784x64xf32>, tensor<64xf32>) -> tensor<1x4x56x56x16xf32>
    """

    name = "graph.winograd_output"
    input = operand_def(TensorType)
    bias = operand_def(TensorType)
    tile = prop_def(IntegerAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input `,` $bias attr-dict `:` functional-type(operands, results)"

    def __init__(self, m: SSAValue, bias: SSAValue, tile: int, result_shape: Sequence[int]):
        super().__init__(
            operands=[m, bias],
            properties={"tile": _tile_attr(tile)},
            result_types=[tensor_of(result_shape, element_type_of(m))],
        )

    def verify_(self) -> None:
        tile = self.tile.value.data
        _check_tile(self, tile)
        m, bias = tensor_shape(self.input), tensor_shape(self.bias)
        out = tensor_shape(self.result)
        if len(m) != 3 or len(out) != 5:
            raise VerifyException(
                f"{self.name} needs a rank-3 input and an NCHW[x]c result, got {list(m)} and "
                f"{list(out)}."
            )
        alpha = tile + KERNEL - 1
        rows, cols = tile_grid(out[2], out[3], tile)
        expected = (alpha * alpha, out[0] * rows * cols, out[1] * out[4])
        if tuple(m) != expected:
            raise VerifyException(
                f"{self.name}: input shape {list(m)} does not match {list(expected)}, the "
                f"tiles of the result {list(out)}."
            )
        if tuple(bias) != (out[1] * out[4],):
            raise VerifyException(
                f"{self.name}: bias shape {list(bias)} is not [{out[1] * out[4]}]."
            )
