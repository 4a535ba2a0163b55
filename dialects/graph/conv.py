"""Convolution-family graph ops on channel-first tensors (N, C, spatial...): convolution,
pooling, batch normalization and local response normalization."""

from collections.abc import Callable, Sequence
from typing import ClassVar

from xdsl.dialects.builtin import (
    DenseArrayBase,
    FloatAttr,
    IntegerAttr,
    StringAttr,
    TensorType,
    f32,
    i64,
)
from xdsl.ir import SSAValue
from xdsl.irdl import (
    IRDLOperation,
    ParsePropInAttrDict,
    VarConstraint,
    base,
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


def _array(values: Sequence[int]) -> DenseArrayBase:
    return DenseArrayBase.from_list(i64, list(values))


def window_output_size(
    size: int, kernel: int, stride: int, pad_begin: int, pad_end: int, dilation: int, ceil: bool
) -> int:
    """Positions of a (dilated) window sliding over a padded axis; with `ceil`, a last
    partial window counts if it starts inside the input or the leading padding."""
    span = size + pad_begin + pad_end - dilation * (kernel - 1) - 1
    if ceil:
        count = -(-span // stride) + 1
        if (count - 1) * stride >= size + pad_begin:
            count -= 1
        return count
    return span // stride + 1


class WindowOp(IRDLOperation):
    """Base of ops sliding a window over the spatial dims: strides, pads (all begins, then all
    ends, as ONNX writes them) and dilations, one entry per spatial dim."""

    strides = prop_def(DenseArrayBase.constr(i64))
    pads = prop_def(DenseArrayBase.constr(i64))
    dilations = prop_def(DenseArrayBase.constr(i64))

    @property
    def stride_values(self) -> tuple[int, ...]:
        return tuple(self.strides.get_values())

    @property
    def pad_values(self) -> tuple[int, ...]:
        return tuple(self.pads.get_values())

    @property
    def dilation_values(self) -> tuple[int, ...]:
        return tuple(self.dilations.get_values())

    def _check_window(self, spatial: int) -> None:
        if len(self.stride_values) != spatial or len(self.dilation_values) != spatial:
            raise VerifyException(f"{self.name} needs {spatial} strides and dilations.")
        if len(self.pad_values) != 2 * spatial:
            raise VerifyException(f"{self.name} needs {2 * spatial} pads (begins, then ends).")
        if min(self.stride_values) < 1 or min(self.dilation_values) < 1 or min(self.pad_values) < 0:
            raise VerifyException(f"{self.name} strides and dilations must be >= 1, pads >= 0.")


class WeightedWindowOp(WindowOp):
    """Base of the convolutions: an input, a weight, a bias per output channel, groups."""

    input = operand_def()
    weight = operand_def()
    bias = operand_def()
    groups = prop_def(IntegerAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = (
        "$input `,` $weight `,` $bias attr-dict `:` functional-type(operands, results)"
    )

    def __init__(
        self,
        x: SSAValue,
        w: SSAValue,
        b: SSAValue,
        window: tuple[Sequence[int], Sequence[int], Sequence[int]],
        groups: int,
        shape: Sequence[int],
    ):
        strides, pads, dilations = window
        super().__init__(
            operands=[x, w, b],
            properties={
                "strides": _array(strides),
                "pads": _array(pads),
                "dilations": _array(dilations),
                "groups": IntegerAttr(groups, i64),
            },
            result_types=[tensor_of(shape, element_type_of(x))],
        )

    def _check_bias_and_result(
        self, channels: int, shape_rule: Callable[..., tuple[int, ...]]
    ) -> None:
        """One bias value per output channel, and the result shape `shape_rule` gives for
        the input, weight, window and groups (it raises ValueError on a mismatch)."""
        bias = tensor_shape(self.bias)
        if bias != (channels,):
            raise VerifyException(
                f"{self.name} bias must have shape [{channels}], got {list(bias)}."
            )
        try:
            expected = shape_rule(
                tensor_shape(self.input),
                tensor_shape(self.weight),
                self.stride_values,
                self.pad_values,
                self.dilation_values,
                self.groups.value.data,
            )
        except ValueError as err:
            raise VerifyException(f"{self.name}: {err}.") from err
        check_result_shape(self, expected, self.result.type)


@irdl_op_definition
class ConvOp(WeightedWindowOp):
    """Grouped, strided, dilated, padded convolution with a bias per output channel.

    %y = graph.conv %x, %w, %b {strides = array<i64: 2, 2>, pads = array<i64: 3, 3, 3, 3>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x3x224x224xf32>, tensor<64x3x7x7xf32>, tensor<64xf32>) -> tensor<1x64x112x112xf32>
    """

    name = "graph.conv"

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
        shape = conv_shape(tensor_shape(x), tensor_shape(w), strides, pads, dilations, groups)
        super().__init__(x, w, b, (strides, pads, dilations), groups, shape)

    def verify_(self) -> None:
        x, w = tensor_shape(self.input), tensor_shape(self.weight)
        if len(x) < 3 or len(w) != len(x):
            raise VerifyException(
                f"graph.conv needs input and weight of equal rank >= 3, got {list(x)} and {list(w)}."
            )
        self._check_window(len(x) - 2)
        self._check_bias_and_result(w[0], conv_shape)


def check_window(
    rank: int,
    kernel: Sequence[int],
    strides: Sequence[int],
    pads: Sequence[int],
    dilations: Sequence[int],
) -> None:
    """ValueError unless a window fits an input of `rank` (batch, channels, then the spatial
    dims): one kernel extent, stride and dilation per spatial dim, all at least 1, and a
    begin and an end pad per spatial dim, none negative."""
    spatial = rank - 2
    if spatial < 1:
        raise ValueError(f"a window needs an input of rank 3 or more, got rank {rank}")
    for name, values, count in (
        ("kernel", kernel, spatial),
        ("strides", strides, spatial),
        ("dilations", dilations, spatial),
        ("pads", pads, 2 * spatial),
    ):
        if len(values) != count:
            raise ValueError(f"{name} {list(values)} must have {count} entries for rank {rank}")
    for name, values, least in (
        ("kernel", kernel, 1),
        ("strides", strides, 1),
        ("dilations", dilations, 1),
        ("pads", pads, 0),
    ):
        if min(values) < least:
            raise ValueError(f"{name} {list(values)} must all be {least} or more")


def conv_shape(
    x: Sequence[int],
    w: Sequence[int],
    strides: Sequence[int],
    pads: Sequence[int],
    dilations: Sequence[int],
    groups: int,
) -> tuple[int, ...]:
    if len(w) != len(x):
        raise ValueError(f"weight {list(w)} must have the rank of the input {list(x)}")
    check_window(len(x), w[2:], strides, pads, dilations)
    spatial = len(x) - 2
    if groups < 1 or x[1] % groups or w[0] % groups:
        raise ValueError(f"{groups} groups do not divide {x[1]} input and {w[0]} output channels")
    if w[1] * groups != x[1]:
        raise ValueError(f"weight {list(w)} expects {w[1] * groups} input channels, got {x[1]}")
    sizes = [
        window_output_size(
            x[2 + d], w[2 + d], strides[d], pads[d], pads[spatial + d], dilations[d], False
        )
        for d in range(spatial)
    ]
    if min(sizes, default=1) < 1:
        raise ValueError(f"the kernel {list(w[2:])} does not fit the padded input {list(x[2:])}")
    return (x[0], w[0], *sizes)


POOL_KINDS = ("max", "avg")


@irdl_op_definition
class PoolOp(WindowOp):
    """Max or average pooling over a window of the spatial dims. `ceil_mode` lets a last
    partial window count; `count_include_pad` makes averages divide by the whole window.

        %y = graph.pool %x {kind = "max", kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, ceil_mode = 0 : i64, count_include_pad = 0 : i64} : tensor<1x64x112x112xf32> -> tensor<1x64x56x56xf32>
    """

    name = "graph.pool"
    input = operand_def()
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
        strides: Sequence[int],
        pads: Sequence[int],
        dilations: Sequence[int],
        ceil_mode: bool = False,
        count_include_pad: bool = False,
    ):
        shape = pool_shape(tensor_shape(x), kernel, strides, pads, dilations, ceil_mode)
        super().__init__(
            operands=[x],
            properties={
                "kind": StringAttr(kind),
                "kernel": _array(kernel),
                "strides": _array(strides),
                "pads": _array(pads),
                "dilations": _array(dilations),
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
            raise VerifyException(f"graph.pool kind must be max or avg, got '{self.kind.data}'.")
        x = tensor_shape(self.input)
        if len(x) < 3 or len(self.kernel_values) != len(x) - 2:
            raise VerifyException("graph.pool needs rank >= 3 and one kernel size per spatial dim.")
        self._check_window(len(x) - 2)
        expected = pool_shape(
            x,
            self.kernel_values,
            self.stride_values,
            self.pad_values,
            self.dilation_values,
            bool(self.ceil_mode.value.data),
        )
        check_result_shape(self, expected, self.result.type)


@irdl_op_definition
class MaxPoolIndicesOp(WindowOp):
    """Where each window of a max pool (graph.pool's window properties) takes its maximum:
    the first such tap's offset in the whole input, NCHW row-major (ONNX MaxPool's Indices);
    `storage_order` 1 takes the spatial dims column-major (n, c, then w * H + h). A window
    holding NaN points at its first NaN.

        %i = graph.max_pool_indices %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, ceil_mode = 0 : i64, storage_order = 0 : i64} : tensor<1x1x4x4xf32> -> tensor<1x1x2x2xi64>
    """

    name = "graph.max_pool_indices"
    input = operand_def()
    kernel = prop_def(DenseArrayBase.constr(i64))
    ceil_mode = prop_def(IntegerAttr)
    storage_order = prop_def(IntegerAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(
        self,
        pool: PoolOp,
        storage_order: int = 0,
    ):
        super().__init__(
            operands=[pool.input],
            properties={
                "kernel": pool.kernel,
                "strides": pool.strides,
                "pads": pool.pads,
                "dilations": pool.dilations,
                "ceil_mode": pool.ceil_mode,
                "storage_order": IntegerAttr(storage_order, i64),
            },
            result_types=[tensor_of(tensor_shape(pool.result), i64)],
        )

    @property
    def kernel_values(self) -> tuple[int, ...]:
        return tuple(self.kernel.get_values())

    def verify_(self) -> None:
        x = tensor_shape(self.input)
        if len(x) < 3 or len(self.kernel_values) != len(x) - 2:
            raise VerifyException(
                "graph.max_pool_indices needs rank >= 3 and one kernel size per spatial dim."
            )
        if self.storage_order.value.data not in (0, 1):
            raise VerifyException("graph.max_pool_indices storage_order must be 0 or 1.")
        if element_type_of(self.result) != i64:
            raise VerifyException("graph.max_pool_indices result must be a tensor of i64.")
        self._check_window(len(x) - 2)
        expected = pool_shape(
            x,
            self.kernel_values,
            self.stride_values,
            self.pad_values,
            self.dilation_values,
            bool(self.ceil_mode.value.data),
        )
        assert isinstance(self.result.type, TensorType)
        check_result_shape(self, expected, self.result.type)


def pool_shape(
    x: Sequence[int],
    kernel: Sequence[int],
    strides: Sequence[int],
    pads: Sequence[int],
    dilations: Sequence[int],
    ceil_mode: bool,
) -> tuple[int, ...]:
    check_window(len(x), kernel, strides, pads, dilations)
    spatial = len(x) - 2
    sizes = [
        window_output_size(
            x[2 + d], kernel[d], strides[d], pads[d], pads[spatial + d], dilations[d], ceil_mode
        )
        for d in range(spatial)
    ]
    return (x[0], x[1], *sizes)


@irdl_op_definition
class BatchNormOp(IRDLOperation):
    """Inference batch normalization over channel dim 1:
    (x - mean) / sqrt(var + epsilon) * scale + bias.

        %y = graph.batch_norm %x, %scale, %bias, %mean, %var {epsilon = 1.0e-05 : f32} : (tensor<1x64x56x56xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<1x64x56x56xf32>
    """

    name = "graph.batch_norm"
    input = operand_def()
    scale = operand_def()
    bias = operand_def()
    mean = operand_def()
    variance = operand_def()
    epsilon = prop_def(FloatAttr)
    result = result_def()
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input `,` $scale `,` $bias `,` $mean `,` $variance attr-dict `:` functional-type(operands, results)"

    def __init__(
        self,
        x: SSAValue,
        scale: SSAValue,
        bias: SSAValue,
        mean: SSAValue,
        var: SSAValue,
        epsilon: float,
    ):
        super().__init__(
            operands=[x, scale, bias, mean, var],
            properties={"epsilon": FloatAttr(epsilon, f32)},
            result_types=[x.type],
        )

    def verify_(self) -> None:
        x = tensor_shape(self.input)
        if len(x) < 2:
            raise VerifyException("graph.batch_norm needs rank >= 2.")
        for name in ("scale", "bias", "mean", "variance"):
            shape = tensor_shape(getattr(self, name))
            if shape != (x[1],):
                raise VerifyException(
                    f"graph.batch_norm {name} must have shape [{x[1]}], got {list(shape)}."
                )
        if self.result.type != self.input.type:
            raise VerifyException("graph.batch_norm result type must be the input's.")


@irdl_op_definition
class LrnOp(IRDLOperation):
    """Local response normalization across channels (dim 1), as ONNX LRN:
    x / (bias + alpha / size * sum of squares over `size` neighbouring channels) ** beta.

        %y = graph.lrn %x {size = 5 : i64, alpha = 1.0e-04 : f32, beta = 7.5e-01 : f32, bias = 1.0 : f32} : tensor<1x96x55x55xf32>
    """

    name = "graph.lrn"
    T: ClassVar = VarConstraint("T", base(TensorType))
    input = operand_def(T)
    size = prop_def(IntegerAttr)
    alpha = prop_def(FloatAttr)
    beta = prop_def(FloatAttr)
    bias = prop_def(FloatAttr)
    result = result_def(T)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input)"

    def __init__(self, x: SSAValue, size: int, alpha: float, beta: float, bias: float):
        super().__init__(
            operands=[x],
            properties={
                "size": IntegerAttr(size, i64),
                "alpha": FloatAttr(alpha, f32),
                "beta": FloatAttr(beta, f32),
                "bias": FloatAttr(bias, f32),
            },
            result_types=[x.type],
        )

    def verify_(self) -> None:
        if self.size.value.data < 1:
            raise VerifyException("graph.lrn size must be at least 1.")
        if len(tensor_shape(self.input)) < 2:
            raise VerifyException("graph.lrn needs rank >= 2.")


@irdl_op_definition
class ConvTransposeOp(WeightedWindowOp):
    """The transpose (gradient) of a convolution: each input element scatters its product with
    the kernel into the output at i * stride - pad + k * dilation. The result type gives the
    output extents (they may include ONNX's output_padding).

        %y = graph.conv_transpose %x, %w, %b {strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<4x2x3x3xf32>, tensor<2xf32>) -> tensor<1x2x17x17xf32>
    """

    name = "graph.conv_transpose"

    def __init__(
        self,
        x: SSAValue,
        w: SSAValue,
        b: SSAValue,
        strides: Sequence[int],
        pads: Sequence[int],
        dilations: Sequence[int],
        groups: int,
        shape: Sequence[int],
    ):
        super().__init__(x, w, b, (strides, pads, dilations), groups, shape)

    def verify_(self) -> None:
        x, w, out = tensor_shape(self.input), tensor_shape(self.weight), tensor_shape(self.result)
        groups = self.groups.value.data
        if len(x) < 3 or len(w) != len(x) or len(out) != len(x):
            raise VerifyException(
                "graph.conv_transpose needs input, weight and result of equal rank >= 3."
            )
        self._check_window(len(x) - 2)
        if groups < 1 or x[1] != w[0] or x[1] % groups:
            raise VerifyException(
                f"graph.conv_transpose weight {list(w)} does not fit {x[1]} input channels in {groups} groups."
            )
        if out[:2] != (x[0], w[1] * groups) or tensor_shape(self.bias) != (w[1] * groups,):
            raise VerifyException(
                f"graph.conv_transpose result {list(out)} or bias does not have {w[1] * groups} channels."
            )
