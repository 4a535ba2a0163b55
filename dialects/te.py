"""The `te` dialect: what each kernel computes, element by element (TVM's tensor expressions).

A `te.compute` defines every element of its result tensor by a scalar body over the result's
index space; the body reads other tensors with `te.read` and may fold an inner index space with
`te.reduce`. Scalars and indices are computed with `arith` and `math`.

    %y = te.compute (%i, %j) : tensor<1x512xf32> {
      %b = te.read %bias[%j] : tensor<512xf32>
      %s = te.reduce sum (%k) in [784] init %b : f32 {
        %a = te.read %x[%i, %k] : tensor<1x784xf32>
        %w = te.read %w[%j, %k] : tensor<512x784xf32>
        %p = arith.mulf %a, %w : f32
        te.yield %p : f32
      }
      te.yield %s : f32
    }

Value semantics, like `graph`: nothing here is a buffer. te-to-sched turns tensors into buffers
and bodies into loop nests.
"""

from collections.abc import Sequence

from xdsl.dialects.builtin import (
    ArrayAttr,
    IndexType,
    IntAttr,
    StringAttr,
    TensorType,
)
from xdsl.ir import Block, Dialect, Region, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.parser import Parser, UnresolvedOperand
from xdsl.printer import Printer
from xdsl.traits import HasParent, IsTerminator, Pure, RecursiveMemoryEffect
from xdsl.utils.exceptions import VerifyException

REDUCE_KINDS = ("sum", "max", "min", "prod")


def _parse_index_args(parser: Parser) -> list[Parser.Argument]:
    unresolved = parser.parse_comma_separated_list(
        Parser.Delimiter.PAREN, lambda: parser.parse_argument(expect_type=False)
    )
    return [arg.resolve(IndexType()) for arg in unresolved]


def _print_index_args(printer: Printer, block: Block) -> None:
    printer.print_string(" (")
    printer.print_list(block.args, lambda arg: printer.print_block_argument(arg, False))
    printer.print_string(")")


def _verify_index_block(op: IRDLOperation, region: Region, rank: int) -> None:
    block = region.block
    if len(block.args) != rank:
        raise VerifyException(
            f"{op.name} body has {len(block.args)} index arguments but its index space has "
            f"rank {rank}."
        )
    if any(not isinstance(arg.type, IndexType) for arg in block.args):
        raise VerifyException(f"{op.name} body arguments must be of type index.")
    if not isinstance(block.last_op, YieldOp):
        raise VerifyException(f"{op.name} body must end with te.yield.")


@irdl_op_definition
class ComputeOp(IRDLOperation):
    """A tensor whose element at (i0, ..., in) is the body's yielded scalar.

        %y = te.compute (%i) : tensor<8xf32> {
          %v = te.read %x[%i] : tensor<8xf32>
          te.yield %v : f32
        }

    `tag` names the op kind it came from (like TVM's tag), for schedules to dispatch on.
    """

    name = "te.compute"
    tag = opt_prop_def(StringAttr)
    body = region_def("single_block")
    result = result_def(TensorType)
    traits = traits_def(RecursiveMemoryEffect())

    def __init__(self, result_type: TensorType, body: Region, tag: str | None = None):
        super().__init__(
            result_types=[result_type],
            regions=[body],
            properties={"tag": StringAttr(tag)} if tag else {},
        )

    @property
    def shape(self) -> tuple[int, ...]:
        assert isinstance(self.result.type, TensorType)
        return tuple(self.result.type.get_shape())

    @classmethod
    def parse(cls, parser: Parser) -> "ComputeOp":
        args = _parse_index_args(parser)
        parser.parse_punctuation(":")
        result_type = parser.parse_type()
        if not isinstance(result_type, TensorType):
            parser.raise_error("te.compute result must be a tensor type")
        body = parser.parse_region(args)
        attrs = parser.parse_optional_attr_dict()
        tag = attrs.pop("tag", None)
        op = cls(result_type, body, tag.data if isinstance(tag, StringAttr) else None)
        op.attributes |= attrs
        return op

    def print(self, printer: Printer) -> None:
        _print_index_args(printer, self.body.block)
        printer.print_string(" : ")
        printer.print_attribute(self.result.type)
        printer.print_string(" ")
        printer.print_region(self.body, print_entry_block_args=False)
        extra = dict(self.attributes)
        if self.tag is not None:
            extra["tag"] = self.tag
        printer.print_op_attributes(extra)

    def verify_(self) -> None:
        assert isinstance(self.result.type, TensorType)
        _verify_index_block(self, self.body, len(self.shape))
        yielded = self.body.block.last_op
        assert isinstance(yielded, YieldOp)
        if yielded.value.type != self.result.type.element_type:
            raise VerifyException(
                f"te.compute yields {yielded.value.type} but its tensor holds "
                f"{self.result.type.element_type}."
            )


@irdl_op_definition
class ReduceOp(IRDLOperation):
    """Folds the body's scalar over an inner index space with sum, max, min or prod,
    starting from `init`. Lives inside a te.compute body.

        %s = te.reduce sum (%k) in [784] init %zero : f32 {
          ...
          te.yield %p : f32
        }
    """

    name = "te.reduce"
    kind = prop_def(StringAttr)
    extents = prop_def(ArrayAttr[IntAttr])
    init = operand_def()
    body = region_def("single_block")
    result = result_def()
    traits = traits_def(RecursiveMemoryEffect())

    def __init__(self, kind: str, extents: Sequence[int], init: SSAValue, body: Region):
        super().__init__(
            operands=[init],
            result_types=[init.type],
            regions=[body],
            properties={
                "kind": StringAttr(kind),
                "extents": ArrayAttr([IntAttr(e) for e in extents]),
            },
        )

    @property
    def extent_values(self) -> tuple[int, ...]:
        return tuple(e.data for e in self.extents.data)

    @classmethod
    def parse(cls, parser: Parser) -> "ReduceOp":
        kind = parser.parse_identifier()
        args = _parse_index_args(parser)
        parser.parse_keyword("in")
        extents = parser.parse_comma_separated_list(Parser.Delimiter.SQUARE, parser.parse_integer)
        parser.parse_keyword("init")
        unresolved_init = parser.parse_unresolved_operand()
        parser.parse_punctuation(":")
        scalar_type = parser.parse_type()
        init = parser.resolve_operand(unresolved_init, scalar_type)
        body = parser.parse_region(args)
        op = cls(kind, extents, init, body)
        op.attributes |= parser.parse_optional_attr_dict()
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(f" {self.kind.data}")
        _print_index_args(printer, self.body.block)
        printer.print_string(" in [")
        printer.print_list(self.extent_values, lambda e: printer.print_string(str(e)))
        printer.print_string("] init ")
        printer.print_operand(self.init)
        printer.print_string(" : ")
        printer.print_attribute(self.result.type)
        printer.print_string(" ")
        printer.print_region(self.body, print_entry_block_args=False)
        printer.print_op_attributes(self.attributes)

    def verify_(self) -> None:
        if self.kind.data not in REDUCE_KINDS:
            raise VerifyException(
                f"te.reduce kind must be one of {', '.join(REDUCE_KINDS)}, got '{self.kind.data}'."
            )
        if any(e < 0 for e in self.extent_values):
            raise VerifyException(
                "te.reduce extents must not be negative (an empty reduction yields its init)."
            )
        _verify_index_block(self, self.body, len(self.extent_values))
        yielded = self.body.block.last_op
        assert isinstance(yielded, YieldOp)
        if yielded.value.type != self.init.type:
            raise VerifyException(
                f"te.reduce yields {yielded.value.type} but its init is {self.init.type}."
            )


@irdl_op_definition
class ReadOp(IRDLOperation):
    """One element of a tensor at the given indices.

    %v = te.read %x[%i, %k] : tensor<1x784xf32>
    """

    name = "te.read"
    tensor = operand_def(TensorType)
    indices = var_operand_def(IndexType)
    result = result_def()
    traits = traits_def(Pure())

    def __init__(self, tensor: SSAValue, indices: Sequence[SSAValue]):
        assert isinstance(tensor.type, TensorType)
        super().__init__(operands=[tensor, indices], result_types=[tensor.type.element_type])

    @classmethod
    def parse(cls, parser: Parser) -> "ReadOp":
        tensor = parser.parse_unresolved_operand()
        indices: list[UnresolvedOperand] = parser.parse_comma_separated_list(
            Parser.Delimiter.SQUARE, parser.parse_unresolved_operand
        )
        parser.parse_punctuation(":")
        tensor_type = parser.parse_type()
        op = cls(
            parser.resolve_operand(tensor, tensor_type),
            [parser.resolve_operand(i, IndexType()) for i in indices],
        )
        op.attributes |= parser.parse_optional_attr_dict()
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_operand(self.tensor)
        printer.print_string("[")
        printer.print_list(self.indices, printer.print_operand)
        printer.print_string("] : ")
        printer.print_attribute(self.tensor.type)
        printer.print_op_attributes(self.attributes)

    def verify_(self) -> None:
        assert isinstance(self.tensor.type, TensorType)
        rank = self.tensor.type.get_num_dims()
        if len(self.indices) != rank:
            raise VerifyException(
                f"te.read of a rank-{rank} tensor needs {rank} indices, got {len(self.indices)}."
            )
        if self.result.type != self.tensor.type.element_type:
            raise VerifyException("te.read result type must be the tensor's element type.")


@irdl_op_definition
class YieldOp(IRDLOperation):
    """Ends a te.compute or te.reduce body with the scalar it defines."""

    name = "te.yield"
    value = operand_def()
    traits = traits_def(IsTerminator(), HasParent(ComputeOp, ReduceOp), Pure())
    assembly_format = "$value attr-dict `:` type($value)"

    def __init__(self, value: SSAValue):
        super().__init__(operands=[value])


TE = Dialect("te", [ComputeOp, ReduceOp, ReadOp, YieldOp], [])
