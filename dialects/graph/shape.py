"""Graph ops that move data without computing: reshape, transpose."""

from collections.abc import Sequence

from xdsl.dialects.builtin import (
    DenseArrayBase,
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
