"""The `flow` dialect: what the graph function and the target entry need, beside kernel calls,
to run control flow over whole buffers (the scf ops and scalar loads of conditions come from
xDSL's dialects).

    %row = flow.slice %ys[%i] : memref<6x3xf32>, i64 -> memref<3xf32>

`flow.slice` is row `%i` (an i64) of a buffer along its first axis, itself a contiguous
buffer: a Loop's body writes each scan element straight into its row of the scan output.
"""

from xdsl.dialects.builtin import IntegerType, MemRefType
from xdsl.ir import Dialect, SSAValue
from xdsl.irdl import IRDLOperation, irdl_op_definition, operand_def, result_def, traits_def
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException


@irdl_op_definition
class SliceOp(IRDLOperation):
    """Row `index` of `buffer` along axis 0, as a buffer of the remaining dimensions."""

    name = "flow.slice"
    buffer = operand_def(MemRefType)
    index = operand_def(IntegerType)
    result = result_def(MemRefType)
    traits = traits_def(Pure())
    assembly_format = (
        "$buffer `[` $index `]` attr-dict `:` type($buffer) `,` type($index) `->` type($result)"
    )

    def __init__(self, buffer: SSAValue, index: SSAValue):
        source = buffer.type
        assert isinstance(source, MemRefType)
        super().__init__(
            operands=[buffer, index],
            result_types=[MemRefType(source.element_type, source.get_shape()[1:])],
        )

    def verify_(self) -> None:
        source, row = self.buffer.type, self.result.type
        assert isinstance(source, MemRefType) and isinstance(row, MemRefType)
        if not source.get_shape() or row != MemRefType(source.element_type, source.get_shape()[1:]):
            raise VerifyException(
                f"flow.slice of {source} gives a row of its first axis, not {row}."
            )


Flow = Dialect("flow", [SliceOp], [])
