"""Dense, normalization and reduction graph ops: matmul, softmax, layer_norm, reduce."""

from collections.abc import Sequence
from typing import ClassVar

from xdsl.dialects.builtin import (
    AnyFloat,
    DenseArrayBase,
    FloatAttr,
    IntegerAttr,
    StringAttr,
    TensorType,
    UnitAttr,
    f32,
    i32,
    i64,
)
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    ParsePropInAttrDict,
    VarConstraint,
    base,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from ziggurat.dialects import shapes
from ziggurat.dialects.graph.base import (
    check_result_shape,
    element_type_of,
    tensor_of,
    tensor_shape,
)


@irdl_op_definition
class MatmulOp(IRDLOperation):
    """numpy.matmul of operands of rank >= 2, with optional transposes of the last two dims
    and a scale: result = alpha * op(lhs) @ op(rhs). Leading dims broadcast as batch dims.
    On int32 (the integer products of quantized ops) it accumulates in int32, wrapping.

        %0 = graph.matmul %x, %w {transpose_b} : (tensor<1x784xf32>, tensor<512x784xf32>) -> tensor<1x512xf32>
    """

    name = "graph.matmul"
    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    transpose_a = opt_prop_def(UnitAttr)
    transpose_b = opt_prop_def(UnitAttr)
    alpha = opt_prop_def(FloatAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)"

    def __init__(
        self,
        lhs: SSAValue,
        rhs: SSAValue,
        transpose_a: bool = False,
        transpose_b: bool = False,
        alpha: float = 1.0,
    ):
        shape = shapes.matmul_shape(tensor_shape(lhs), tensor_shape(rhs), transpose_a, transpose_b)
        props: dict[str, Attribute] = {}
        if transpose_a:
            props["transpose_a"] = UnitAttr()
        if transpose_b:
            props["transpose_b"] = UnitAttr()
        if alpha != 1.0:
            props["alpha"] = FloatAttr(alpha, f32)
        super().__init__(
            operands=[lhs, rhs],
            properties=props,
            result_types=[tensor_of(shape, element_type_of(lhs))],
        )

    @property
    def scale(self) -> float:
        return 1.0 if self.alpha is None else self.alpha.value.data

    def verify_(self) -> None:
        element = element_type_of(self.lhs)
        if not (isinstance(element, AnyFloat) or element == i32):
            raise VerifyException("graph.matmul supports float and int32 tensors only.")
        if element != element_type_of(self.rhs):
            raise VerifyException("graph.matmul operands must have the same element type.")
        if self.alpha is not None and element == i32:
            raise VerifyException("graph.matmul on int32 takes no alpha.")
        try:
            expected = shapes.matmul_shape(
                tensor_shape(self.lhs),
                tensor_shape(self.rhs),
                self.transpose_a is not None,
                self.transpose_b is not None,
            )
        except ValueError as err:
            raise VerifyException(f"graph.matmul: {err}.") from err
        assert isinstance(self.result.type, TensorType)
        check_result_shape(self, expected, self.result.type)


@irdl_op_definition
class SoftmaxOp(IRDLOperation):
    """exp(x - max) / sum(exp(x - max)) along one axis.

    %1 = graph.softmax %0 {axis = 1 : i64} : tensor<1x10xf32>
    """

    name = "graph.softmax"
    T: ClassVar = VarConstraint("T", base(TensorType))
    input = operand_def(T)
    axis = prop_def(IntegerAttr)
    result = result_def(T)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input)"

    def __init__(self, operand: SSAValue, axis: int):
        rank = len(tensor_shape(operand))
        super().__init__(
            operands=[operand],
            properties={"axis": IntegerAttr(shapes.normalize_axis(axis, rank), i64)},
            result_types=[operand.type],
        )

    def verify_(self) -> None:
        rank = len(tensor_shape(self.input))
        if not 0 <= self.axis.value.data < rank:
            raise VerifyException(
                f"graph.softmax axis {self.axis.value.data} is out of range for rank {rank}."
            )


@irdl_op_definition
class LayerNormOp(IRDLOperation):
    """(x - mean) / sqrt(var + epsilon) * scale + bias, with mean and variance over the
    dims from `axis` on; scale and bias broadcast to those dims.

        %y = graph.layer_norm %x, %gamma, %beta {axis = 2 : i64, epsilon = 1.0e-05 : f32} : (tensor<1x128x128xf32>, tensor<128xf32>, tensor<128xf32>) -> tensor<1x128x128xf32>
    """

    name = "graph.layer_norm"
    input = operand_def(TensorType)
    scale = operand_def(TensorType)
    bias = operand_def(TensorType)
    axis = prop_def(IntegerAttr)
    epsilon = prop_def(FloatAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input `,` $scale `,` $bias attr-dict `:` functional-type(operands, results)"

    def __init__(self, x: SSAValue, scale: SSAValue, bias: SSAValue, axis: int, epsilon: float):
        rank = len(tensor_shape(x))
        super().__init__(
            operands=[x, scale, bias],
            properties={
                "axis": IntegerAttr(shapes.normalize_axis(axis, rank), i64),
                "epsilon": FloatAttr(epsilon, f32),
            },
            result_types=[x.type],
        )

    def verify_(self) -> None:
        shape = tensor_shape(self.input)
        axis = self.axis.value.data
        if not 0 <= axis < len(shape):
            raise VerifyException(
                f"graph.layer_norm axis {axis} is out of range for rank {len(shape)}."
            )
        for name, operand in (("scale", self.scale), ("bias", self.bias)):
            try:
                shapes.broadcast_shapes(shape[axis:], tensor_shape(operand))
            except ValueError as err:
                raise VerifyException(f"graph.layer_norm {name}: {err}.") from err
            if len(tensor_shape(operand)) > len(shape) - axis:
                raise VerifyException(
                    f"graph.layer_norm {name} has more dims than the normalized ones."
                )
        if self.result.type != self.input.type:
            raise VerifyException("graph.layer_norm result type must be the input's.")


REDUCE_KINDS = ("sum", "mean", "max", "min", "prod")


def reduce_shape(shape: Sequence[int], axes: Sequence[int], keepdims: bool) -> tuple[int, ...]:
    if keepdims:
        return tuple(1 if d in axes else s for d, s in enumerate(shape))
    return tuple(s for d, s in enumerate(shape) if d not in axes)


@irdl_op_definition
class ReduceOp(IRDLOperation):
    """Sum, mean, max, min or product over `axes`, kept as size-1 dims with `keepdims`.

    %y = graph.reduce %x {kind = "mean", axes = array<i64: 2, 3>, keepdims = 1 : i64} : tensor<1x64x7x7xf32> -> tensor<1x64x1x1xf32>
    """

    name = "graph.reduce"
    input = operand_def(TensorType)
    kind = prop_def(StringAttr)
    axes = prop_def(DenseArrayBase.constr(i64))
    keepdims = prop_def(IntegerAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, x: SSAValue, kind: str, axes: Sequence[int], keepdims: bool):
        rank = len(tensor_shape(x))
        normalized = sorted({shapes.normalize_axis(a, rank) for a in axes})
        super().__init__(
            operands=[x],
            properties={
                "kind": StringAttr(kind),
                "axes": DenseArrayBase.from_list(i64, normalized),
                "keepdims": IntegerAttr(int(keepdims), i64),
            },
            result_types=[
                tensor_of(reduce_shape(tensor_shape(x), normalized, keepdims), element_type_of(x))
            ],
        )

    @property
    def axis_values(self) -> tuple[int, ...]:
        return tuple(self.axes.get_values())

    def verify_(self) -> None:
        if self.kind.data not in REDUCE_KINDS:
            raise VerifyException(
                f"graph.reduce kind must be one of {', '.join(REDUCE_KINDS)}, got '{self.kind.data}'."
            )
        shape = tensor_shape(self.input)
        axes = self.axis_values
        if any(not 0 <= a < len(shape) for a in axes) or len(set(axes)) != len(axes):
            raise VerifyException(
                f"graph.reduce axes {list(axes)} are not distinct dims of rank {len(shape)}."
            )
        expected = reduce_shape(shape, axes, bool(self.keepdims.value.data))
        check_result_shape(self, expected, self.result.type)  # pyright: ignore[reportArgumentType]
