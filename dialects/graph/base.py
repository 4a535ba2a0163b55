"""Shared pieces of the graph dialect: value types, names, weights and constants."""

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from xdsl.dialects.builtin import (
    AnyFloat,
    DenseIntOrFPElementsAttr,
    IndexType,
    IntegerType,
    Signedness,
    StringAttr,
    TensorType,
    bf16,
    f16,
    f32,
    f64,
    i1,
    i8,
    i16,
    i32,
    i64,
)
from xdsl.ir import Attribute, Region, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_op_definition,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
    var_result_def,
)
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.traits import ConstantLike, IsolatedFromAbove, IsTerminator, Pure
from xdsl.utils.exceptions import VerifyException

NAME_ATTR = "graph.name"
"""Argument/result attribute carrying the model's own tensor name (any characters)."""


def tensor_shape(value: SSAValue | Attribute) -> tuple[int, ...]:
    ty = value.type if isinstance(value, SSAValue) else value
    assert isinstance(ty, TensorType)
    return tuple(ty.get_shape())


NUMPY_ELEMENT_TYPES: dict[str, Attribute] = {
    "float32": f32, "float64": f64, "float16": f16, "bfloat16": bf16, "int64": i64,
    "int32": i32, "int16": i16, "int8": i8, "bool": i1,
    **{f"uint{w}": IntegerType(w, Signedness.UNSIGNED) for w in (8, 16, 32, 64)},
}  # fmt: skip
"""numpy dtypes the graph dialect holds, as element types: signed integers are signless (as
MLIR's), unsigned ones `ui8`...`ui64`, whose kernels divide, compare and convert unsigned;
bfloat16 is ml_dtypes' (onnx's) numpy type."""


def is_unsigned(element_type: Attribute) -> bool:
    """An unsigned integer element type (ui8 ... ui64)."""
    return isinstance(element_type, IntegerType) and (
        element_type.signedness.data == Signedness.UNSIGNED
    )


def element_type_for(dtype: npt.DTypeLike) -> Attribute | None:
    """The element type of a numpy dtype, or None when the graph dialect has none."""
    return NUMPY_ELEMENT_TYPES.get(np.dtype(dtype).name)


def tensor_of(shape: Sequence[int], element_type: Attribute = f32) -> TensorType:
    return TensorType(element_type, list(shape))


def dense_tensor(
    element_type: Attribute, shape: Sequence[int], values: Sequence[float]
) -> DenseIntOrFPElementsAttr:
    """`values` as a dense tensor of a float or integer element type (bools as integers);
    a single value fills the whole shape."""
    if isinstance(element_type, AnyFloat):
        return DenseIntOrFPElementsAttr.from_list(TensorType(element_type, shape), values)
    assert isinstance(element_type, IntegerType | IndexType), element_type
    return DenseIntOrFPElementsAttr.from_list(
        TensorType(element_type, shape), [int(v) for v in values]
    )


def element_type_of(value: SSAValue) -> Attribute:
    assert isinstance(value.type, TensorType)
    return value.type.element_type


def check_result_shape(op: IRDLOperation, expected: Sequence[int], actual: TensorType) -> None:
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


@irdl_op_definition
class YieldOp(IRDLOperation):
    """Ends a graph.fused body with the group's result."""

    name = "graph.yield"
    values = var_operand_def()
    traits = traits_def(IsTerminator())
    assembly_format = "$values attr-dict `:` type($values)"

    def __init__(self, values: Sequence[SSAValue]):
        super().__init__(operands=[values])


@irdl_op_definition
class FusedOp(IRDLOperation):
    """A group of graph ops that becomes one kernel (TVM's fused function). The body's block
    arguments stand for the operands; `kind` names the group for people and schedules.

        %y = graph.fused %x, %w, %b {kind = "conv_add_relu"} : (tensor<...>, tensor<...>, tensor<...>) -> tensor<...> {
        ^bb0(%a: tensor<...>, %c: tensor<...>, %d: tensor<...>):
          ...
          graph.yield %r : tensor<...>
        }
    """

    name = "graph.fused"
    inputs = var_operand_def()
    kind = prop_def(StringAttr)
    outputs = var_result_def()
    body = region_def("single_block")
    traits = traits_def(IsolatedFromAbove())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$inputs attr-dict `:` functional-type($inputs, $outputs) $body"

    def __init__(
        self, inputs: Sequence[SSAValue], kind: str, result_types: Sequence[Attribute], body: Region
    ):
        super().__init__(
            operands=[inputs],
            properties={"kind": StringAttr(kind)},
            result_types=[result_types],
            regions=[body],
        )

    def verify_(self) -> None:
        block = self.body.block
        if tuple(a.type for a in block.args) != tuple(v.type for v in self.inputs):
            raise VerifyException("graph.fused body arguments must match its operands.")
        last = block.last_op
        if not isinstance(last, YieldOp) or tuple(v.type for v in last.values) != tuple(
            r.type for r in self.outputs
        ):
            raise VerifyException("graph.fused body must end with graph.yield of its result types.")
