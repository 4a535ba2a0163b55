"""Graph ops that move data without computing: reshape, transpose, concat."""

from collections.abc import Sequence

from xdsl.dialects.builtin import (
    DenseArrayBase,
    IntegerAttr,
    TensorType,
    i64,
)
from xdsl.ir import SSAValue
from xdsl.irdl import (
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_op_definition,
    operand_def,
    prop_def,
    result_def,
    traits_def,
    var_operand_def,
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
            operands=[operand], result_types=[tensor_of(shape, element_type_of(operand))]
        )

    def verify_(self) -> None:
        source, target = tensor_shape(self.input), tensor_shape(self.result)
        if shapes.num_elements(source) != shapes.num_elements(target):
            raise VerifyException(
                f"graph.reshape cannot turn {list(source)} ({shapes.num_elements(source)} "
                f"elements) into {list(target)} ({shapes.num_elements(target)} elements)."
            )
        if element_type_of(self.input) != element_type_of(self.result):
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
            result_types=[tensor_of([shape[p] for p in perm], element_type_of(operand))],
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
        check_result_shape(self, [shape[p] for p in perm], self.result.type)


@irdl_op_definition
class ConcatOp(IRDLOperation):
    """Joins tensors along `axis`; the other dims must agree.

    %y = graph.concat %a, %b {axis = 1 : i64} : (tensor<1x64x28x28xf32>, tensor<1x32x28x28xf32>) -> tensor<1x96x28x28xf32>
    """

    name = "graph.concat"
    inputs = var_operand_def(TensorType)
    axis = prop_def(IntegerAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$inputs attr-dict `:` functional-type($inputs, results)"

    def __init__(self, values: Sequence[SSAValue], axis: int):
        shapes_ = [tensor_shape(v) for v in values]
        axis = shapes.normalize_axis(axis, len(shapes_[0]))
        shape = list(shapes_[0])
        shape[axis] = sum(s[axis] for s in shapes_)
        super().__init__(
            operands=[values],
            properties={"axis": IntegerAttr(axis, i64)},
            result_types=[tensor_of(shape, element_type_of(values[0]))],
        )

    def verify_(self) -> None:
        shapes_ = [tensor_shape(v) for v in self.inputs]
        if not shapes_:
            raise VerifyException("graph.concat needs at least one input.")
        axis = self.axis.value.data
        rank = len(shapes_[0])
        if not 0 <= axis < rank:
            raise VerifyException(f"graph.concat axis {axis} is out of range for rank {rank}.")
        for s in shapes_[1:]:
            if len(s) != rank or any(
                a != b for d, (a, b) in enumerate(zip(s, shapes_[0], strict=True)) if d != axis
            ):
                raise VerifyException(
                    f"graph.concat inputs {[list(x) for x in shapes_]} differ outside axis {axis}."
                )
        expected = list(shapes_[0])
        expected[axis] = sum(s[axis] for s in shapes_)
        check_result_shape(self, expected, self.result.type)  # pyright: ignore[reportArgumentType]
