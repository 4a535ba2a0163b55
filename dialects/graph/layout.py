"""Blocked-channel layouts (TVM's NCHW[x]c): the layout transform and the ops that compute in
a blocked layout, so vector-wide channel blocks sit innermost, contiguous in memory.

Layouts are written as TVM writes them: an upper-case letter is a whole axis, a number and a
lower-case letter the inner block of that axis. "NCHW16c" is N, C/16, H, W, 16; a weight in
"OIHW16i16o" is O/16, I/16, KH, KW, 16 input and 16 output channels.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.dialects.builtin import DenseArrayBase, IntegerAttr, StringAttr, TensorType, i64
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
from ziggurat.dialects.graph.conv import (
    POOL_KINDS,
    WeightedWindowOp,
    WindowOp,
    conv_shape,
    pool_shape,
)


@dataclass(frozen=True)
class Layout:
    """A parsed layout string: its axis letters in order and the size of each block."""

    axes: tuple[str, ...]
    blocks: dict[str, int]

    @staticmethod
    def parse(text: str) -> "Layout":
        """Raises ValueError naming the layout when it is not a valid layout string."""
        axes: list[str] = []
        blocks: dict[str, int] = {}
        digits = ""
        for char in text:
            if char.isdigit():
                digits += char
                continue
            if not char.isalpha() or char in axes or char.isupper() == bool(digits):
                raise ValueError(f"'{text}' is not a layout (like NCHW or NCHW16c)")
            if digits:
                blocks[char] = int(digits)
                digits = ""
            axes.append(char)
        if digits or any(a.upper() not in axes or blocks[a] < 1 for a in blocks) or not axes:
            raise ValueError(f"'{text}' is not a layout (like NCHW or NCHW16c)")
        return Layout(tuple(axes), blocks)

    @property
    def primal_axes(self) -> tuple[str, ...]:
        """The whole axes, in the order they appear."""
        return tuple(a for a in self.axes if a.isupper())

    def block(self, axis: str) -> int:
        """The block size of a whole axis (1 when it is not blocked)."""
        return self.blocks.get(axis.lower(), 1)

    def extents(self, shape: Sequence[int]) -> dict[str, int]:
        """The extent of each whole axis of a tensor of `shape` in this layout."""
        if len(shape) != len(self.axes):
            raise ValueError(f"layout {self} has {len(self.axes)} dims, the tensor {len(shape)}")
        return {a: shape[self.axes.index(a)] * self.block(a) for a in self.primal_axes}

    def shape(self, extents: dict[str, int]) -> tuple[int, ...]:
        """The shape of a tensor with these whole-axis extents in this layout."""
        shape: list[int] = []
        for axis in self.axes:
            if axis.islower():
                shape.append(self.blocks[axis])
            elif extents[axis] % self.block(axis):
                raise ValueError(
                    f"axis {axis} of extent {extents[axis]} does not split into blocks of {self.block(axis)}"
                )
            else:
                shape.append(extents[axis] // self.block(axis))
        return tuple(shape)

    def __str__(self) -> str:
        return "".join(f"{self.blocks[a]}{a}" if a.islower() else a for a in self.axes)


def transformed_shape(shape: Sequence[int], source: str, target: str) -> tuple[int, ...]:
    """The shape of a tensor of `shape` in layout `source` once laid out as `target`."""
    src, dst = Layout.parse(source), Layout.parse(target)
    if sorted(src.primal_axes) != sorted(dst.primal_axes):
        raise ValueError(f"layouts {source} and {target} do not have the same axes")
    return dst.shape(src.extents(shape))


def blocked_layout(block: int) -> str:
    """The activation layout with channel blocks of `block`: NCHW{block}c."""
    return f"NCHW{block}c"


def channel_block(channels: int, block: int) -> int | None:
    """The block for `channels`: `block` if it divides them, else half of it (24 channels
    in blocks of 8 with AVX-512's 16), else None."""
    for candidate in (block, block // 2):
        if candidate >= 2 and channels % candidate == 0:
            return candidate
    return None


def block_of(blocked: SSAValue) -> int:
    """The channel block of an NCHW[x]c tensor."""
    return tensor_shape(blocked)[4]


def blocked_weight_layout(in_block: int, out_block: int) -> str:
    """The conv_nchwc weight layout: OIHW{in_block}i{out_block}o."""
    return f"OIHW{in_block}i{out_block}o"


@irdl_op_definition
class LayoutTransformOp(IRDLOperation):
    """The same tensor laid out anew (TVM's layout_transform); blocks must divide their axes.

    %y = graph.layout_transform %x {src_layout = "NCHW", dst_layout = "NCHW16c"} : tensor<1x32x8x8xf32> -> tensor<1x2x8x8x16xf32>
    """

    name = "graph.layout_transform"
    input = operand_def(TensorType)
    src_layout = prop_def(StringAttr)
    dst_layout = prop_def(StringAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, x: SSAValue, source: str, target: str):
        shape = transformed_shape(tensor_shape(x), source, target)
        super().__init__(
            operands=[x],
            properties={"src_layout": StringAttr(source), "dst_layout": StringAttr(target)},
            result_types=[tensor_of(shape, element_type_of(x))],
        )

    def verify_(self) -> None:
        try:
            expected = transformed_shape(
                tensor_shape(self.input), self.src_layout.data, self.dst_layout.data
            )
        except ValueError as err:
            raise VerifyException(f"graph.layout_transform: {err}.") from err
        if element_type_of(self.input) != element_type_of(self.result):
            raise VerifyException("graph.layout_transform must keep the element type.")
        check_result_shape(self, expected, self.result.type)  # pyright: ignore[reportArgumentType]


def unblocked_conv_shapes(
    x: Sequence[int], w: Sequence[int]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The NCHW input and OIHW weight shapes of a conv_nchwc's blocked ones."""
    return (x[0], x[1] * x[4], x[2], x[3]), (w[0] * w[5], w[1] * w[4], w[2], w[3])


@irdl_op_definition
class ConvNchwcOp(WeightedWindowOp):
    """A 2-D convolution in blocked layouts (TVM's contrib_conv2d_NCHWc): input NCHW[ib]c,
    weight OIHW[wi]i[ob]o pre-transformed at build time, a bias per output channel, result
    NCHW[ob]c with the output channel block innermost. The blocks come from the shapes.

        %y = graph.conv_nchwc %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4x56x56x16xf32>, tensor<4x4x3x3x16x16xf32>, tensor<64xf32>) -> tensor<1x4x56x56x16xf32>
    """

    name = "graph.conv_nchwc"

    def __init__(
        self,
        x: SSAValue,
        w: SSAValue,
        b: SSAValue,
        strides: Sequence[int],
        pads: Sequence[int],
        dilations: Sequence[int],
        groups: int = 1,
    ):
        window = (strides, pads, dilations)
        shape = conv_nchwc_shape(tensor_shape(x), tensor_shape(w), *window, groups)
        super().__init__(x, w, b, window, groups, shape)

    def verify_(self) -> None:
        x, w = tensor_shape(self.input), tensor_shape(self.weight)
        if len(x) != 5 or len(w) != 6:
            raise VerifyException(
                f"graph.conv_nchwc needs a rank-5 input and a rank-6 weight, got {list(x)} and {list(w)}."
            )
        self._check_window(2)
        self._check_bias_and_result(w[0] * w[5], conv_nchwc_shape)


def conv_nchwc_shape(
    x: Sequence[int],
    w: Sequence[int],
    strides: Sequence[int],
    pads: Sequence[int],
    dilations: Sequence[int],
    groups: int,
) -> tuple[int, ...]:
    """The NCHW[ob]c result shape of a conv_nchwc; raises ValueError on a mismatch."""
    nchw, oihw = unblocked_conv_shapes(x, w)
    n, o, oh, ow = conv_shape(nchw, oihw, strides, pads, dilations, groups)
    return (n, o // w[5], oh, ow, w[5])


@irdl_op_definition
class PoolNchwcOp(WindowOp):
    """Max or average pooling over the H and W dims of an NCHW[x]c tensor, with graph.pool's
    attributes: pooling keeps the channel layout.

        %y = graph.pool_nchwc %x {kind = "max", kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, ceil_mode = 0 : i64, count_include_pad = 0 : i64} : tensor<1x4x112x112x16xf32> -> tensor<1x4x56x56x16xf32>
    """

    name = "graph.pool_nchwc"
    input = operand_def(TensorType)
    kind = prop_def(StringAttr)
    kernel = prop_def(DenseArrayBase.constr(i64))
    ceil_mode = prop_def(IntegerAttr)
    count_include_pad = prop_def(IntegerAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(
        self,
        x: SSAValue,
        kind: str,
        kernel: Sequence[int],
        window: tuple[Sequence[int], Sequence[int], Sequence[int]],
        ceil_mode: bool,
        count_include_pad: bool,
    ):
        strides, pads, dilations = window
        shape = pool_nchwc_shape(tensor_shape(x), kernel, strides, pads, dilations, ceil_mode)
        super().__init__(
            operands=[x],
            properties={
                "kind": StringAttr(kind),
                "kernel": DenseArrayBase.from_list(i64, list(kernel)),
                "strides": DenseArrayBase.from_list(i64, list(strides)),
                "pads": DenseArrayBase.from_list(i64, list(pads)),
                "dilations": DenseArrayBase.from_list(i64, list(dilations)),
                "ceil_mode": IntegerAttr(int(ceil_mode), i64),
                "count_include_pad": IntegerAttr(int(count_include_pad), i64),
            },
            result_types=[tensor_of(shape, element_type_of(x))],
        )

    @property
    def kernel_values(self) -> tuple[int, ...]:
        return tuple(self.kernel.get_values())

    def verify_(self) -> None:
        if self.kind.data not in POOL_KINDS:
            raise VerifyException(
                f"graph.pool_nchwc kind must be max or avg, got '{self.kind.data}'."
            )
        x = tensor_shape(self.input)
        if len(x) != 5 or len(self.kernel_values) != 2:
            raise VerifyException("graph.pool_nchwc needs a rank-5 input and a 2-D kernel.")
        self._check_window(2)
        expected = pool_nchwc_shape(
            x,
            self.kernel_values,
            self.stride_values,
            self.pad_values,
            self.dilation_values,
            bool(self.ceil_mode.value.data),
        )
        check_result_shape(self, expected, self.result.type)  # pyright: ignore[reportArgumentType]


def pool_nchwc_shape(
    x: Sequence[int],
    kernel: Sequence[int],
    strides: Sequence[int],
    pads: Sequence[int],
    dilations: Sequence[int],
    ceil_mode: bool,
) -> tuple[int, ...]:
    n, c, oh, ow = pool_shape(x[:4], kernel, strides, pads, dilations, ceil_mode)
    return (n, c, oh, ow, x[4])
