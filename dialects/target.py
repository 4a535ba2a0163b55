"""The `target` dialect: where code runs. The CPU description and the kernel ABI.

`#target.cpu<...>` says which machine code to make (triple, CPU, features, vector width,
cores). `target.kernel` is a compiled kernel with a fixed ABI: one bare pointer per buffer
argument (C-contiguous, row-major), no return value. `target.entry` is the whole model as one
function over a table of buffer pointers (`void entry(void **table)`); `target.buffer` names a
slot of that table and `target.launch` calls a kernel.

    builtin.module attributes {target.cpu = #target.cpu<"x86_64-unknown-linux-gnu", "skylake-avx512", "", 512, 2>} {
      target.kernel @relu_0(%x: memref<1x512xf32>, %y: memref<1x512xf32>) {
        ...
        target.return
      }
      target.entry @main {
        %0 = target.buffer 0 input "x" : memref<1x512xf32>
        %1 = target.buffer 1 output "y" : memref<1x512xf32>
        target.launch @relu_0(%0, %1) : memref<1x512xf32>, memref<1x512xf32>
        target.return
      }
    }
"""

from collections.abc import Sequence
from typing import ClassVar

from xdsl.dialects.arith import CMPF_COMPARISON_OPERATIONS
from xdsl.dialects.builtin import (
    I1,
    AnyFloatConstr,
    FunctionType,
    IntAttr,
    MemRefType,
    StringAttr,
    SymbolRefAttr,
    VectorType,
    i1,
)
from xdsl.ir import Attribute, Dialect, ParametrizedAttribute, Region, SSAValue
from xdsl.irdl import (
    AnyAttr,
    IRDLOperation,
    VarConstraint,
    irdl_attr_definition,
    irdl_op_definition,
    operand_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.parser import AttrParser, Parser
from xdsl.printer import Printer
from xdsl.traits import (
    IsolatedFromAbove,
    IsTerminator,
    Pure,
    SymbolOpInterface,
    SymbolTable,
)
from xdsl.utils.exceptions import VerifyException

CPU_ATTR = "target.cpu"
"""Module attribute holding the #target.cpu the module is compiled for."""

BUFFER_KINDS = ("input", "output", "param", "intermediate")


@irdl_attr_definition
class CpuTargetAttr(ParametrizedAttribute):
    """A CPU to compile for: LLVM triple, CPU name, feature string, SIMD width in bits and the
    number of cores to run on. Made from a target string by `ziggurat.core.targets`.

        #target.cpu<"x86_64-unknown-linux-gnu", "skylake-avx512", "+avx512f", 512, 2>
    """

    name = "target.cpu"
    triple: StringAttr
    cpu: StringAttr
    features: StringAttr
    vector_bits: IntAttr
    cores: IntAttr

    def __init__(self, triple: str, cpu: str, features: str, vector_bits: int, cores: int):
        super().__init__(
            StringAttr(triple),
            StringAttr(cpu),
            StringAttr(features),
            IntAttr(vector_bits),
            IntAttr(cores),
        )

    @property
    def arch(self) -> str:
        return self.triple.data.split("-", 1)[0]

    def vector_lanes(self, element_bits: int = 32) -> int:
        return max(1, self.vector_bits.data // element_bits)

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            triple = parser.parse_str_literal()
            parser.parse_punctuation(",")
            cpu = parser.parse_str_literal()
            parser.parse_punctuation(",")
            features = parser.parse_str_literal()
            parser.parse_punctuation(",")
            vector_bits = parser.parse_integer(allow_negative=False)
            parser.parse_punctuation(",")
            cores = parser.parse_integer(allow_negative=False)
        return (
            StringAttr(triple),
            StringAttr(cpu),
            StringAttr(features),
            IntAttr(vector_bits),
            IntAttr(cores),
        )

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string(
            f'<"{self.triple.data}", "{self.cpu.data}", "{self.features.data}", '
            f"{self.vector_bits.data}, {self.cores.data}>"
        )

    def verify(self) -> None:
        if self.vector_bits.data not in (32, 64, 128, 256, 512):
            raise VerifyException(
                f"#target.cpu vector width must be 32 to 512 bits, got {self.vector_bits.data}."
            )
        if self.cores.data < 1:
            raise VerifyException("#target.cpu needs at least one core.")


@irdl_op_definition
class ReturnOp(IRDLOperation):
    """Ends a target.kernel or target.entry."""

    name = "target.return"
    traits = traits_def(IsTerminator())
    assembly_format = "attr-dict"


@irdl_op_definition
class KernelOp(IRDLOperation):
    """A kernel with the bare-pointer ABI: `void name(void *arg0, void *arg1, ...)`, each
    pointer the start of a C-contiguous buffer of its memref type. Inputs come first, the
    buffers it writes last (destination-passing style).

        target.kernel @relu_0(%x: memref<8xf32>, %y: memref<8xf32>) { ... target.return }
    """

    name = "target.kernel"
    sym_name = prop_def(StringAttr)
    function_type = prop_def(FunctionType)
    body = region_def("single_block")
    traits = traits_def(SymbolOpInterface(), IsolatedFromAbove())

    def __init__(self, name: str, arg_types: Sequence[Attribute], body: Region):
        super().__init__(
            regions=[body],
            properties={
                "sym_name": StringAttr(name),
                "function_type": FunctionType.from_lists(list(arg_types), []),
            },
        )

    @classmethod
    def parse(cls, parser: Parser) -> "KernelOp":
        name = parser.parse_symbol_name().data
        args = parser.parse_comma_separated_list(
            Parser.Delimiter.PAREN, lambda: parser.parse_argument(expect_type=True)
        )
        body = parser.parse_region(args)
        op = cls(name, [arg.type for arg in args], body)
        if extra := parser.parse_optional_attr_dict_with_keyword():
            op.attributes |= extra.data
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_symbol_name(self.sym_name.data)
        printer.print_string("(")
        printer.print_list(self.body.block.args, printer.print_block_argument)
        printer.print_string(") ")
        printer.print_region(self.body, print_entry_block_args=False)
        if self.attributes:
            printer.print_op_attributes(self.attributes, print_keyword=True)

    def verify_(self) -> None:
        args = self.body.block.args
        if tuple(a.type for a in args) != tuple(self.function_type.inputs.data):
            raise VerifyException("target.kernel arguments must match its function type.")
        for arg in args:
            if not isinstance(arg.type, MemRefType):
                raise VerifyException(
                    f"target.kernel arguments must be buffers (memref), got {arg.type}."
                )
        if not isinstance(self.body.block.last_op, ReturnOp):
            raise VerifyException("target.kernel body must end with target.return.")


ENTRY_CONTROL = ("scf", "arith", "memref", "flow")
"""Dialects whose ops may stand between launches in an entry with control flow."""


@irdl_op_definition
class EntryOp(IRDLOperation):
    """The whole model as one function: `void name(void **table)`, where table[i] points to
    the buffer that `target.buffer i` names. Holds buffers and launches, and for models with
    control flow the `scf` ops around launches with their scalar `arith`/`memref` ops and
    `flow.slice` rows (buffers only at the top level).

        target.entry @main { ... target.return }
    """

    name = "target.entry"
    sym_name = prop_def(StringAttr)
    body = region_def("single_block")
    traits = traits_def(SymbolOpInterface(), IsolatedFromAbove())

    def __init__(self, name: str, body: Region):
        super().__init__(regions=[body], properties={"sym_name": StringAttr(name)})

    @classmethod
    def parse(cls, parser: Parser) -> "EntryOp":
        name = parser.parse_symbol_name().data
        op = cls(name, parser.parse_region())
        if extra := parser.parse_optional_attr_dict_with_keyword():
            op.attributes |= extra.data
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_symbol_name(self.sym_name.data)
        printer.print_string(" ")
        printer.print_region(self.body)
        if self.attributes:
            printer.print_op_attributes(self.attributes, print_keyword=True)

    def verify_(self) -> None:
        seen: dict[int, BufferOp] = {}
        for op in self.body.block.ops:
            if isinstance(op, BufferOp):
                index = op.index.data
                if index in seen:
                    raise VerifyException(f"target.entry declares buffer {index} twice.")
                seen[index] = op
            elif not isinstance(op, LaunchOp | ReturnOp) and op.dialect_name() not in ENTRY_CONTROL:
                raise VerifyException(
                    f"target.entry may hold only target.buffer and target.launch, got {op.name}."
                )
        if sorted(seen) != list(range(len(seen))):
            raise VerifyException("target.entry buffer indices must be 0, 1, ..., n-1.")

    @property
    def buffers(self) -> list["BufferOp"]:
        return sorted(
            (op for op in self.body.block.ops if isinstance(op, BufferOp)),
            key=lambda op: op.index.data,
        )

    @property
    def launches(self) -> list["LaunchOp"]:
        return [op for op in self.body.walk() if isinstance(op, LaunchOp)]


@irdl_op_definition
class BufferOp(IRDLOperation):
    """Slot `index` of the entry's buffer table: a model input or output, a param or an
    intermediate, with the model's own name for it.

        %0 = target.buffer 0 input "x" : memref<1x784xf32>
    """

    name = "target.buffer"
    index = prop_def(IntAttr)
    kind = prop_def(StringAttr)
    buffer_name = prop_def(StringAttr, prop_name="name")
    result = result_def(MemRefType)

    def __init__(self, index: int, kind: str, name: str, buffer_type: MemRefType):
        super().__init__(
            properties={
                "index": IntAttr(index),
                "kind": StringAttr(kind),
                "name": StringAttr(name),
            },
            result_types=[buffer_type],
        )

    @classmethod
    def parse(cls, parser: Parser) -> "BufferOp":
        index = parser.parse_integer(allow_negative=False)
        kind = parser.parse_identifier()
        name = parser.parse_str_literal()
        parser.parse_punctuation(":")
        buffer_type = parser.parse_type()
        if not isinstance(buffer_type, MemRefType):
            parser.raise_error("target.buffer must have a memref type")
        op = cls(index, kind, name, buffer_type)  # pyright: ignore[reportArgumentType]
        op.attributes |= parser.parse_optional_attr_dict()
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(f" {self.index.data} {self.kind.data} ")
        printer.print_string_literal(self.buffer_name.data)
        printer.print_string(" : ")
        printer.print_attribute(self.result.type)
        printer.print_op_attributes(self.attributes)

    def verify_(self) -> None:
        if self.kind.data not in BUFFER_KINDS:
            raise VerifyException(
                f"target.buffer kind must be one of {', '.join(BUFFER_KINDS)}, "
                f"got '{self.kind.data}'."
            )


@irdl_op_definition
class LaunchOp(IRDLOperation):
    """Runs a kernel on buffers.

    target.launch @relu_0(%0, %1) : memref<8xf32>, memref<8xf32>
    """

    name = "target.launch"
    callee = prop_def(SymbolRefAttr)
    args = var_operand_def(MemRefType)
    assembly_format = "$callee `(` $args `)` attr-dict `:` type($args)"

    def __init__(self, callee: str, args: Sequence[SSAValue]):
        super().__init__(operands=[args], properties={"callee": SymbolRefAttr(callee)})

    def verify_(self) -> None:
        kernel = SymbolTable.lookup_symbol(self, self.callee)
        if not isinstance(kernel, KernelOp):
            raise VerifyException(
                f"target.launch callee @{self.callee.string_value()} is not a target.kernel."
            )
        expected = tuple(kernel.function_type.inputs.data)
        actual = tuple(arg.type for arg in self.args)
        if expected != actual:
            raise VerifyException(
                f"target.launch of @{self.callee.string_value()} passes "
                f"({', '.join(map(str, actual))}) but the kernel takes "
                f"({', '.join(map(str, expected))})."
            )


@irdl_op_definition
class VectorCmpfOp(IRDLOperation):
    """Compares float vectors lane by lane into a vector of i1, with arith.cmpf's predicates
    (xDSL 0.74's arith.cmpf gives a scalar i1 only).

        %m = target.vector_cmpf "olt" %a, %b : vector<16xf32> -> vector<16xi1>
    """

    name = "target.vector_cmpf"
    T: ClassVar = VarConstraint("T", VectorType.constr(AnyFloatConstr))
    predicate = prop_def(StringAttr)
    lhs = operand_def(T)
    rhs = operand_def(T)
    result = result_def(VectorType.constr(I1))
    traits = traits_def(Pure())
    assembly_format = "$predicate $lhs `,` $rhs attr-dict `:` type($lhs) `->` type($result)"

    def __init__(self, predicate: str, lhs: SSAValue, rhs: SSAValue):
        assert isinstance(lhs.type, VectorType)
        super().__init__(
            operands=[lhs, rhs],
            properties={"predicate": StringAttr(predicate)},
            result_types=[VectorType(i1, lhs.type.get_shape())],
        )

    def verify_(self) -> None:
        if self.predicate.data not in CMPF_COMPARISON_OPERATIONS:
            raise VerifyException(
                f"target.vector_cmpf predicate must be one of "
                f"{', '.join(CMPF_COMPARISON_OPERATIONS)}, got '{self.predicate.data}'."
            )
        assert isinstance(self.lhs.type, VectorType)
        lanes = self.lhs.type.get_shape()
        if self.result.type.get_shape() != lanes:  # pyright: ignore[reportAttributeAccessIssue]
            raise VerifyException("target.vector_cmpf needs one result lane per operand lane.")


@irdl_op_definition
class VectorSelectOp(IRDLOperation):
    """Picks lane by lane from two vectors by a vector of i1 (xDSL 0.74's arith.select takes
    a scalar condition only).

        %r = target.vector_select %m, %a, %b : vector<16xi1>, vector<16xf32>
    """

    name = "target.vector_select"
    T: ClassVar = VarConstraint("T", VectorType.constr(AnyAttr()))
    condition = operand_def(VectorType.constr(I1))
    if_true = operand_def(T)
    if_false = operand_def(T)
    result = result_def(T)
    traits = traits_def(Pure())
    assembly_format = (
        "$condition `,` $if_true `,` $if_false attr-dict `:` type($condition) `,` type($result)"
    )

    def __init__(self, condition: SSAValue, if_true: SSAValue, if_false: SSAValue):
        super().__init__(operands=[condition, if_true, if_false], result_types=[if_true.type])

    def verify_(self) -> None:
        assert isinstance(self.condition.type, VectorType)
        lanes = self.result.type.get_shape()  # pyright: ignore[reportAttributeAccessIssue]
        if self.condition.type.get_shape() != lanes:
            raise VerifyException("target.vector_select needs one condition lane per lane.")


Target = Dialect(
    "target",
    [KernelOp, EntryOp, BufferOp, LaunchOp, ReturnOp, VectorCmpfOp, VectorSelectOp],
    [CpuTargetAttr],
)
