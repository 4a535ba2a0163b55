"""Elementwise graph ops: unary maps and binary ops with numpy broadcasting."""

from typing import ClassVar

from xdsl.dialects.builtin import (
    AnyFloat,
    FloatAttr,
    IntegerType,
    StringAttr,
    TensorType,
    UnitAttr,
    f32,
    i1,
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


class UnaryElementwiseOp(IRDLOperation):
    """Base of ops that map each element through a scalar function; shape is unchanged."""

    T: ClassVar = VarConstraint("T", base(TensorType))
    input = operand_def(T)
    result = result_def(T)
    traits = traits_def(Pure())
    assembly_format = "$input attr-dict `:` type($input)"

    def __init__(self, operand: SSAValue):
        super().__init__(operands=[operand], result_types=[operand.type])


@irdl_op_definition
class ReluOp(UnaryElementwiseOp):
    """max(x, 0) elementwise.

    %1 = graph.relu %0 : tensor<1x512xf32>
    """

    name = "graph.relu"


@irdl_op_definition
class SigmoidOp(UnaryElementwiseOp):
    """1 / (1 + exp(-x)) elementwise."""

    name = "graph.sigmoid"


@irdl_op_definition
class TanhOp(UnaryElementwiseOp):
    """tanh(x) elementwise."""

    name = "graph.tanh"


@irdl_op_definition
class ErfOp(UnaryElementwiseOp):
    """The Gauss error function elementwise."""

    name = "graph.erf"


@irdl_op_definition
class ExpOp(UnaryElementwiseOp):
    """exp(x) elementwise."""

    name = "graph.exp"


@irdl_op_definition
class LogOp(UnaryElementwiseOp):
    """The natural logarithm elementwise."""

    name = "graph.log"


@irdl_op_definition
class SqrtOp(UnaryElementwiseOp):
    """sqrt(x) elementwise."""

    name = "graph.sqrt"


@irdl_op_definition
class NegOp(UnaryElementwiseOp):
    """-x elementwise."""

    name = "graph.neg"


@irdl_op_definition
class ReciprocalOp(UnaryElementwiseOp):
    """1 / x elementwise."""

    name = "graph.reciprocal"


@irdl_op_definition
class RoundOp(UnaryElementwiseOp):
    """x rounded to the nearest integer, halves to even (ONNX Round, and the rounding of
    QuantizeLinear)."""

    name = "graph.round"


GELU_APPROXIMATIONS = ("none", "tanh")


@irdl_op_definition
class GeluOp(IRDLOperation):
    """x * Phi(x) elementwise; `approximate = "tanh"` uses the tanh formula.

    %1 = graph.gelu %0 {approximate = "none"} : tensor<128x512xf32>
    """

    name = "graph.gelu"
    T: ClassVar = VarConstraint("T", base(TensorType))
    input = operand_def(T)
    approximate = prop_def(StringAttr)
    result = result_def(T)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input)"

    def __init__(self, operand: SSAValue, approximate: str = "none"):
        super().__init__(
            operands=[operand],
            properties={"approximate": StringAttr(approximate)},
            result_types=[operand.type],
        )

    def verify_(self) -> None:
        if self.approximate.data not in GELU_APPROXIMATIONS:
            raise VerifyException(
                f"graph.gelu approximate must be 'none' or 'tanh', got '{self.approximate.data}'."
            )


class BinaryElementwiseOp(IRDLOperation):
    """Base of elementwise ops on two tensors with numpy broadcasting."""

    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)"

    def __init__(self, lhs: SSAValue, rhs: SSAValue):
        shape = shapes.broadcast_shapes(tensor_shape(lhs), tensor_shape(rhs))
        super().__init__(operands=[lhs, rhs], result_types=[tensor_of(shape, element_type_of(lhs))])

    def verify_(self) -> None:
        if element_type_of(self.lhs) != element_type_of(self.rhs):
            raise VerifyException(
                f"{self.name} operands have different element types "
                f"({element_type_of(self.lhs)} and {element_type_of(self.rhs)})."
            )
        try:
            expected = shapes.broadcast_shapes(tensor_shape(self.lhs), tensor_shape(self.rhs))
        except ValueError as err:
            raise VerifyException(f"{self.name}: {err}.") from err
        assert isinstance(self.result.type, TensorType)
        check_result_shape(self, expected, self.result.type)


@irdl_op_definition
class AddOp(BinaryElementwiseOp):
    """lhs + rhs with numpy broadcasting.

    %2 = graph.add %1, %b : (tensor<1x512xf32>, tensor<512xf32>) -> tensor<1x512xf32>
    """

    name = "graph.add"


@irdl_op_definition
class MulOp(BinaryElementwiseOp):
    """lhs * rhs with numpy broadcasting.

    %2 = graph.mul %1, %s : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
    """

    name = "graph.mul"


@irdl_op_definition
class SubOp(BinaryElementwiseOp):
    """lhs - rhs with numpy broadcasting."""

    name = "graph.sub"


@irdl_op_definition
class DivOp(BinaryElementwiseOp):
    """lhs / rhs with numpy broadcasting."""

    name = "graph.div"


@irdl_op_definition
class ModOp(BinaryElementwiseOp):
    """The remainder of lhs / rhs with numpy broadcasting: with the sign of rhs (Python's %,
    ONNX Mod fmod=0) or, `truncated`, with the sign of lhs (C's % and fmod, fmod=1).
    For integers x mod 0 is x (so that x = 0 * 0 + x, see te_builder.div): onnxruntime fails
    the run instead, and a compiled kernel has no way to; x mod -1 is 0. For floats x mod 0
    is NaN, and an untruncated zero remainder takes the sign of rhs (numpy's np.mod).

    %2 = graph.mod %0, %1 {truncated} : (tensor<6xi32>, tensor<6xi32>) -> tensor<6xi32>
    """

    name = "graph.mod"
    truncated = opt_prop_def(UnitAttr)
    irdl_options = (ParsePropInAttrDict(),)

    def __init__(self, lhs: SSAValue, rhs: SSAValue, truncated: bool = False):
        super().__init__(lhs, rhs)
        if truncated:
            self.properties["truncated"] = UnitAttr()


@irdl_op_definition
class PowOp(BinaryElementwiseOp):
    """lhs ** rhs with numpy broadcasting. The exponent may have another element type than
    the base (ONNX Pow's T1 and T2): the result has the base's. Operands of different
    types, and integer operands, are computed in f64 (as onnxruntime's std::pow) and
    converted to the base's type, integers truncated toward zero and saturated.

    %2 = graph.pow %0, %1 : (tensor<3xf32>, tensor<3xi64>) -> tensor<3xf32>
    """

    name = "graph.pow"

    def verify_(self) -> None:
        base_type, exponent_type = element_type_of(self.lhs), element_type_of(self.rhs)
        if element_type_of(self.result) != base_type:
            raise VerifyException(
                f"graph.pow result must have the base's element type {base_type}, got "
                f"{element_type_of(self.result)}."
            )
        if exponent_type == i1 or not isinstance(exponent_type, IntegerType | AnyFloat):
            raise VerifyException(f"graph.pow exponent must be numeric, got {exponent_type}.")
        try:
            expected = shapes.broadcast_shapes(tensor_shape(self.lhs), tensor_shape(self.rhs))
        except ValueError as err:
            raise VerifyException(f"{self.name}: {err}.") from err
        assert isinstance(self.result.type, TensorType)
        check_result_shape(self, expected, self.result.type)


@irdl_op_definition
class MaxOp(BinaryElementwiseOp):
    """max(lhs, rhs) with numpy broadcasting; NaN wins."""

    name = "graph.max"


@irdl_op_definition
class MinOp(BinaryElementwiseOp):
    """min(lhs, rhs) with numpy broadcasting; NaN wins."""

    name = "graph.min"


class ScalarParamUnaryOp(IRDLOperation):
    """Base of elementwise maps with float parameters, shape unchanged."""

    T: ClassVar = VarConstraint("T", base(TensorType))
    input = operand_def(T)
    result = result_def(T)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input)"
    PARAMS: ClassVar[tuple[str, ...]] = ()

    def __init__(self, operand: SSAValue, *values: float):
        super().__init__(
            operands=[operand],
            properties={k: FloatAttr(v, f32) for k, v in zip(self.PARAMS, values, strict=True)},
            result_types=[operand.type],
        )

    def param(self, name: str) -> float:
        attr = self.properties[name]
        assert isinstance(attr, FloatAttr)
        return attr.value.data


@irdl_op_definition
class ClipOp(ScalarParamUnaryOp):
    """min(max(x, min), max) elementwise; infinite bounds leave that side open.

    %1 = graph.clip %0 {min = 0.0 : f32, max = 6.0 : f32} : tensor<1x32x112x112xf32>
    """

    name = "graph.clip"
    min = prop_def(FloatAttr)
    max = prop_def(FloatAttr)
    PARAMS: ClassVar[tuple[str, ...]] = ("min", "max")


@irdl_op_definition
class LeakyReluOp(ScalarParamUnaryOp):
    """x if x >= 0 else alpha * x."""

    name = "graph.leaky_relu"
    alpha = prop_def(FloatAttr)
    PARAMS: ClassVar[tuple[str, ...]] = ("alpha",)


@irdl_op_definition
class HardSigmoidOp(ScalarParamUnaryOp):
    """max(0, min(1, alpha * x + beta))."""

    name = "graph.hard_sigmoid"
    alpha = prop_def(FloatAttr)
    beta = prop_def(FloatAttr)
    PARAMS: ClassVar[tuple[str, ...]] = ("alpha", "beta")


@irdl_op_definition
class PReluOp(BinaryElementwiseOp):
    """x if x >= 0 else slope * x, the slope broadcast to x."""

    name = "graph.prelu"


@irdl_op_definition
class EqualOp(IRDLOperation):
    """lhs == rhs elementwise with numpy broadcasting, as an i1 tensor.

    %c = graph.equal %a, %b : (tensor<3xi32>, tensor<3xi32>) -> tensor<3xi1>
    """

    name = "graph.equal"
    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)"

    def __init__(self, lhs: SSAValue, rhs: SSAValue):
        shape = shapes.broadcast_shapes(tensor_shape(lhs), tensor_shape(rhs))
        super().__init__(operands=[lhs, rhs], result_types=[tensor_of(shape, i1)])

    def verify_(self) -> None:
        if element_type_of(self.lhs) != element_type_of(self.rhs):
            raise VerifyException("graph.equal operands must have the same element type.")
        if element_type_of(self.result) != i1:
            raise VerifyException("graph.equal result must be a tensor of i1.")


@irdl_op_definition
class CastOp(IRDLOperation):
    """Converts each element to the result's element type (floats round to nearest, floats to
    integers truncate toward zero and saturate, integers to bool test for non-zero).

        %y = graph.cast %x : tensor<4xf32> -> tensor<4xi32>
    """

    name = "graph.cast"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, x: SSAValue, element_type: Attribute):
        super().__init__(operands=[x], result_types=[tensor_of(tensor_shape(x), element_type)])

    def verify_(self) -> None:
        if tensor_shape(self.input) != tensor_shape(self.result):
            raise VerifyException("graph.cast must keep the shape.")
