"""The `sched` dialect: how a kernel runs, as loop nests over buffers (TVM's TIR level).

Tensors became buffers (`memref`) on the way here. A loop has constant bounds and a kind that
says how the target should run it: `serial`, `parallel` (across cores), `vectorize` (one SIMD
lane per iteration) or `unroll`.

    func.func private @relu(%x: memref<1x512xf32>, %y: memref<1x512xf32>) {
      sched.for %i = 0 to 1 step 1 {
        sched.for %j = 0 to 512 step 1 vectorize {
          %v = sched.load %x[%i, %j] : memref<1x512xf32>
          %zero = arith.constant 0.000000e+00 : f32
          %r = arith.maximumf %v, %zero : f32
          sched.store %r, %y[%i, %j] : memref<1x512xf32>
        }
      }
      func.return
    }

In the graph function (`@main`), `sched.alloc` is an intermediate buffer of the whole run and
`sched.param` binds a weight from the params store; in a kernel, `sched.alloc` is scratch.
"""

from collections.abc import Sequence

from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    IndexType,
    IntAttr,
    MemRefType,
    StringAttr,
)
from xdsl.ir import Block, BlockArgument, Dialect, Region, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.traits import (
    IsTerminator,
    Pure,
    RecursiveMemoryEffect,
    SingleBlockImplicitTerminator,
    ensure_terminator,
)
from xdsl.utils.exceptions import VerifyException

LOOP_KINDS = ("serial", "parallel", "vectorize", "unroll")

AXIS_ATTR = "sched.axis"
"""Discardable sched.for attribute: "reduce" on loops over a reduction axis, whose iterations
depend on each other through an accumulator."""


@irdl_op_definition
class YieldOp(IRDLOperation):
    """Ends a sched.for body; implicit in the custom syntax."""

    name = "sched.yield"
    traits = traits_def(IsTerminator(), Pure())
    assembly_format = "attr-dict"


@irdl_op_definition
class ForOp(IRDLOperation):
    """for %i in range(lower, upper, step), run as `kind` says.

    sched.for %i = 0 to 512 step 16 parallel { ... }
    """

    name = "sched.for"
    lower = prop_def(IntAttr)
    upper = prop_def(IntAttr)
    step = prop_def(IntAttr)
    kind = prop_def(StringAttr)
    body = region_def("single_block")
    traits = traits_def(SingleBlockImplicitTerminator(YieldOp), RecursiveMemoryEffect())

    def __init__(
        self, lower: int, upper: int, step: int, body: Region | Block, kind: str = "serial"
    ):
        if isinstance(body, Block):
            body = Region(body)
        super().__init__(
            regions=[body],
            properties={
                "lower": IntAttr(lower),
                "upper": IntAttr(upper),
                "step": IntAttr(step),
                "kind": StringAttr(kind),
            },
        )
        ensure_terminator(self, SingleBlockImplicitTerminator(YieldOp))

    @property
    def induction_var(self) -> BlockArgument:
        return self.body.block.args[0]

    @property
    def trip_count(self) -> int:
        return max(0, -(-(self.upper.data - self.lower.data) // self.step.data))

    @classmethod
    def parse(cls, parser: Parser) -> "ForOp":
        index = parser.parse_argument(expect_type=False).resolve(IndexType())
        parser.parse_punctuation("=")
        lower = parser.parse_integer()
        parser.parse_keyword("to")
        upper = parser.parse_integer()
        parser.parse_keyword("step")
        step = parser.parse_integer()
        kind = parser.parse_optional_identifier() or "serial"
        body = parser.parse_region((index,))
        op = cls(lower, upper, step, body, kind)
        op.attributes |= parser.parse_optional_attr_dict()
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_block_argument(self.induction_var, print_type=False)
        printer.print_string(f" = {self.lower.data} to {self.upper.data} step {self.step.data}")
        if self.kind.data != "serial":
            printer.print_string(f" {self.kind.data}")
        printer.print_string(" ")
        printer.print_region(self.body, print_entry_block_args=False, print_block_terminators=False)
        printer.print_op_attributes(self.attributes)

    def verify_(self) -> None:
        if self.kind.data not in LOOP_KINDS:
            raise VerifyException(
                f"sched.for kind must be one of {', '.join(LOOP_KINDS)}, got '{self.kind.data}'."
            )
        if self.step.data <= 0:
            raise VerifyException(f"sched.for step must be positive, got {self.step.data}.")
        args = self.body.block.args
        if len(args) != 1 or not isinstance(args[0].type, IndexType):
            raise VerifyException("sched.for body must take exactly one index argument.")


def _parse_access(parser: Parser) -> tuple[SSAValue, list[SSAValue]]:
    buffer = parser.parse_unresolved_operand()
    indices = parser.parse_comma_separated_list(
        Parser.Delimiter.SQUARE, parser.parse_unresolved_operand
    )
    parser.parse_punctuation(":")
    buffer_type = parser.parse_type()
    return (
        parser.resolve_operand(buffer, buffer_type),
        [parser.resolve_operand(i, IndexType()) for i in indices],
    )


def _print_access(printer: Printer, buffer: SSAValue, indices: Sequence[SSAValue]) -> None:
    printer.print_operand(buffer)
    printer.print_string("[")
    printer.print_list(indices, printer.print_operand)
    printer.print_string("] : ")
    printer.print_attribute(buffer.type)


def _verify_access(op: IRDLOperation, buffer: SSAValue, indices: Sequence[SSAValue]) -> None:
    assert isinstance(buffer.type, MemRefType)
    rank = buffer.type.get_num_dims()
    if len(indices) != rank:
        raise VerifyException(
            f"{op.name} of a rank-{rank} buffer needs {rank} indices, got {len(indices)}."
        )


@irdl_op_definition
class LoadOp(IRDLOperation):
    """One element of a buffer.

    %v = sched.load %x[%i, %j] : memref<4x8xf32>
    """

    name = "sched.load"
    buffer = operand_def(MemRefType)
    indices = var_operand_def(IndexType)
    result = result_def()

    def __init__(self, buffer: SSAValue, indices: Sequence[SSAValue]):
        assert isinstance(buffer.type, MemRefType)
        super().__init__(operands=[buffer, indices], result_types=[buffer.type.element_type])

    @classmethod
    def parse(cls, parser: Parser) -> "LoadOp":
        op = cls(*_parse_access(parser))
        op.attributes |= parser.parse_optional_attr_dict()
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        _print_access(printer, self.buffer, self.indices)
        printer.print_op_attributes(self.attributes)

    def verify_(self) -> None:
        _verify_access(self, self.buffer, self.indices)
        assert isinstance(self.buffer.type, MemRefType)
        if self.result.type != self.buffer.type.element_type:
            raise VerifyException("sched.load result type must be the buffer's element type.")


@irdl_op_definition
class StoreOp(IRDLOperation):
    """Writes one element of a buffer.

    sched.store %v, %y[%i, %j] : memref<4x8xf32>
    """

    name = "sched.store"
    value = operand_def()
    buffer = operand_def(MemRefType)
    indices = var_operand_def(IndexType)

    def __init__(self, value: SSAValue, buffer: SSAValue, indices: Sequence[SSAValue]):
        super().__init__(operands=[value, buffer, indices])

    @classmethod
    def parse(cls, parser: Parser) -> "StoreOp":
        value = parser.parse_unresolved_operand()
        parser.parse_punctuation(",")
        buffer, indices = _parse_access(parser)
        assert isinstance(buffer.type, MemRefType)
        op = cls(parser.resolve_operand(value, buffer.type.element_type), buffer, indices)
        op.attributes |= parser.parse_optional_attr_dict()
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_operand(self.value)
        printer.print_string(", ")
        _print_access(printer, self.buffer, self.indices)
        printer.print_op_attributes(self.attributes)

    def verify_(self) -> None:
        _verify_access(self, self.buffer, self.indices)
        assert isinstance(self.buffer.type, MemRefType)
        if self.value.type != self.buffer.type.element_type:
            raise VerifyException(
                f"sched.store of {self.value.type} into a buffer of "
                f"{self.buffer.type.element_type}."
            )


@irdl_op_definition
class AllocOp(IRDLOperation):
    """A buffer: scratch inside a kernel, an intermediate of the run inside the graph function.

    %t = sched.alloc : memref<1x512xf32>
    """

    name = "sched.alloc"
    result = result_def(MemRefType)
    assembly_format = "attr-dict `:` type($result)"

    def __init__(self, buffer_type: MemRefType):
        super().__init__(result_types=[buffer_type])


@irdl_op_definition
class ParamOp(IRDLOperation):
    """A weight buffer bound from the params store by name.

    %w = sched.param "fc1.weight" : memref<512x784xf32>
    """

    name = "sched.param"
    param_name = prop_def(StringAttr, prop_name="name")
    result = result_def(MemRefType)
    traits = traits_def(Pure())
    assembly_format = "$name attr-dict `:` type($result)"

    def __init__(self, name: str, buffer_type: MemRefType):
        super().__init__(properties={"name": StringAttr(name)}, result_types=[buffer_type])


@irdl_op_definition
class ConstantOp(IRDLOperation):
    """A read-only buffer with the given contents (small constants of a kernel).

    %c = sched.constant dense<[1.0, 2.0]> : tensor<2xf32>
    """

    name = "sched.constant"
    value = prop_def(DenseIntOrFPElementsAttr)
    result = result_def(MemRefType)
    traits = traits_def(Pure())

    def __init__(self, value: DenseIntOrFPElementsAttr):
        super().__init__(
            properties={"value": value},
            result_types=[MemRefType(value.get_element_type(), value.get_shape())],
        )

    @classmethod
    def parse(cls, parser: Parser) -> "ConstantOp":
        value = parser.parse_attribute()
        if not isinstance(value, DenseIntOrFPElementsAttr):
            parser.raise_error("sched.constant expects a dense<...> : tensor<...> value")
        op = cls(value)
        op.attributes |= parser.parse_optional_attr_dict()
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_attribute(self.value)
        printer.print_op_attributes(self.attributes)

    def verify_(self) -> None:
        assert isinstance(self.result.type, MemRefType)
        if tuple(self.result.type.get_shape()) != tuple(self.value.get_shape()):
            raise VerifyException("sched.constant result shape must be the value's shape.")


Sched = Dialect("sched", [ForOp, YieldOp, LoadOp, StoreOp, AllocOp, ParamOp, ConstantOp], [])
