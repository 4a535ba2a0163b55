"""The `graph` dialect: what a model computes, as dataflow on value tensors (TVM Relay's level).

Values are builtin `tensor<...>` types with static shapes. Weights are named references into
the params store (`graph.weight "fc1.weight"`), never numbers printed inline; only small
constants (scalars, shape vectors) live in the IR as `graph.constant`.

    func.func @main(%x: tensor<1x784xf32> {graph.name = "input"}) -> tensor<1x10xf32> {
      %w = graph.weight "fc.weight" : tensor<10x784xf32>
      %0 = graph.matmul %x, %w {transpose_b} : (tensor<1x784xf32>, tensor<10x784xf32>) -> tensor<1x10xf32>
      %1 = graph.softmax %0 {axis = 1 : i64} : tensor<1x10xf32>
      func.return %1 : tensor<1x10xf32>
    }

Every op verifies its result type against its shape rule, so a wrong shape written by hand
or by a pass is caught with a sentence naming both shapes.
"""

from collections.abc import Sequence
from typing import ClassVar

from xdsl.dialects.builtin import (
    AnyFloat,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IntegerAttr,
    StringAttr,
    TensorType,
    UnitAttr,
    f32,
    i64,
)
from xdsl.ir import Attribute, Dialect, SSAValue
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
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.traits import ConstantLike, Pure
from xdsl.utils.exceptions import VerifyException

from ziggurat.dialects import shapes

NAME_ATTR = "graph.name"
"""Argument/result attribute carrying the model's own tensor name (any characters)."""


def tensor_shape(value: SSAValue | Attribute) -> tuple[int, ...]:
    ty = value.type if isinstance(value, SSAValue) else value
    assert isinstance(ty, TensorType)
    return tuple(ty.get_shape())


def tensor_of(shape: Sequence[int], element_type: Attribute = f32) -> TensorType:
    return TensorType(element_type, list(shape))


def _element_type(value: SSAValue) -> Attribute:
    assert isinstance(value.type, TensorType)
    return value.type.element_type


def _check_type(op: IRDLOperation, expected: Sequence[int], actual: TensorType) -> None:
    if tuple(actual.get_shape()) != tuple(expected):
        raise VerifyException(
            f"{op.name} result shape {list(actual.get_shape())} does not match the inferred "
            f"shape {list(expected)}."
        )


@irdl_op_definition
class WeightOp(IRDLOperation):
    """A named tensor from the params store, bound at build time.

    %w = graph.weight "conv1.weight" : tensor<64x3x7x7xf32>
    """

    name = "graph.weight"
    weight_name = prop_def(StringAttr, prop_name="name")
    result = result_def(TensorType)
    traits = traits_def(Pure(), ConstantLike())
    assembly_format = "$name attr-dict `:` type($result)"

    def __init__(self, name: str, result_type: TensorType):
        super().__init__(properties={"name": StringAttr(name)}, result_types=[result_type])

    def verify_(self) -> None:
        if not self.weight_name.data:
            raise VerifyException("graph.weight needs a non-empty name.")


@irdl_op_definition
class ConstantOp(IRDLOperation):
    """A small constant tensor written inline (scalars, shape vectors).

    %c = graph.constant dense<1.000000e+00> : tensor<f32>
    """

    name = "graph.constant"
    value = prop_def(DenseIntOrFPElementsAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure(), ConstantLike())

    def __init__(self, value: DenseIntOrFPElementsAttr):
        super().__init__(properties={"value": value}, result_types=[value.type])

    @classmethod
    def parse(cls, parser: Parser) -> "ConstantOp":
        value = parser.parse_attribute()
        if not isinstance(value, DenseIntOrFPElementsAttr):
            parser.raise_error("graph.constant expects a dense<...> : tensor<...> value")
        op = cls(value)
        op.attributes |= parser.parse_optional_attr_dict()
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_attribute(self.value)
        printer.print_op_attributes(self.attributes)

    def verify_(self) -> None:
        if self.value.type != self.result.type:
            raise VerifyException("graph.constant result type must be the value's type.")


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
        super().__init__(operands=[lhs, rhs], result_types=[tensor_of(shape, _element_type(lhs))])

    def verify_(self) -> None:
        if _element_type(self.lhs) != _element_type(self.rhs):
            raise VerifyException(
                f"{self.name} operands have different element types "
                f"({_element_type(self.lhs)} and {_element_type(self.rhs)})."
            )
        try:
            expected = shapes.broadcast_shapes(tensor_shape(self.lhs), tensor_shape(self.rhs))
        except ValueError as err:
            raise VerifyException(f"{self.name}: {err}.") from err
        assert isinstance(self.result.type, TensorType)
        _check_type(self, expected, self.result.type)


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
class PowOp(BinaryElementwiseOp):
    """lhs ** rhs with numpy broadcasting."""

    name = "graph.pow"


@irdl_op_definition
class MaxOp(BinaryElementwiseOp):
    """max(lhs, rhs) with numpy broadcasting; NaN wins."""

    name = "graph.max"


@irdl_op_definition
class MinOp(BinaryElementwiseOp):
    """min(lhs, rhs) with numpy broadcasting; NaN wins."""

    name = "graph.min"


@irdl_op_definition
class MatmulOp(IRDLOperation):
    """numpy.matmul of operands of rank >= 2, with optional transposes of the last two dims
    and a scale: result = alpha * op(lhs) @ op(rhs). Leading dims broadcast as batch dims.

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
            result_types=[tensor_of(shape, _element_type(lhs))],
        )

    @property
    def scale(self) -> float:
        return 1.0 if self.alpha is None else self.alpha.value.data

    def verify_(self) -> None:
        if not isinstance(_element_type(self.lhs), AnyFloat):
            raise VerifyException("graph.matmul supports floating-point tensors only.")
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
        _check_type(self, expected, self.result.type)


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
class ReshapeOp(IRDLOperation):
    """The same elements in row-major order under a new static shape.

    %1 = graph.reshape %0 : tensor<1x1x28x28xf32> -> tensor<1x784xf32>
    """

    name = "graph.reshape"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, operand: SSAValue, shape: Sequence[int]):
        super().__init__(
            operands=[operand], result_types=[tensor_of(shape, _element_type(operand))]
        )

    def verify_(self) -> None:
        source, target = tensor_shape(self.input), tensor_shape(self.result)
        if shapes.num_elements(source) != shapes.num_elements(target):
            raise VerifyException(
                f"graph.reshape cannot turn {list(source)} ({shapes.num_elements(source)} "
                f"elements) into {list(target)} ({shapes.num_elements(target)} elements)."
            )
        if _element_type(self.input) != _element_type(self.result):
            raise VerifyException("graph.reshape must keep the element type.")


@irdl_op_definition
class TransposeOp(IRDLOperation):
    """Permutes dimensions: result dim d is input dim perm[d].

    %1 = graph.transpose %0 {perm = array<i64: 0, 2, 1, 3>} : tensor<1x128x2x64xf32> -> tensor<1x2x128x64xf32>
    """

    name = "graph.transpose"
    input = operand_def(TensorType)
    perm = prop_def(DenseArrayBase.constr(i64))
    result = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, operand: SSAValue, perm: Sequence[int]):
        shape = tensor_shape(operand)
        super().__init__(
            operands=[operand],
            properties={"perm": DenseArrayBase.from_list(i64, list(perm))},
            result_types=[tensor_of([shape[p] for p in perm], _element_type(operand))],
        )

    @property
    def permutation(self) -> tuple[int, ...]:
        return tuple(self.perm.get_values())

    def verify_(self) -> None:
        shape, perm = tensor_shape(self.input), self.permutation
        if sorted(perm) != list(range(len(shape))):
            raise VerifyException(
                f"graph.transpose perm {list(perm)} is not a permutation of {len(shape)} dims."
            )
        assert isinstance(self.result.type, TensorType)
        _check_type(self, [shape[p] for p in perm], self.result.type)


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


Graph = Dialect(
    "graph",
    [
        WeightOp, ConstantOp,
        ReluOp, SigmoidOp, TanhOp, ErfOp, ExpOp, LogOp, SqrtOp, NegOp, ReciprocalOp, GeluOp,
        AddOp, SubOp, MulOp, DivOp, PowOp, MaxOp, MinOp,
        MatmulOp, SoftmaxOp, LayerNormOp, ReshapeOp, TransposeOp,
    ],
    [],
)  # fmt: skip
