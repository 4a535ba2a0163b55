"""Located diagnostics: `file:line:col: error: message`, like mlir-opt's.

xDSL keeps no source location on parsed ops, so `LocatingParser` records where each op
starts; `verify_located` then finds the innermost op that fails to verify and names its place.
"""

import re
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import AttributeInvT, Operation, SSAValue, TypeAttribute
from xdsl.parser import Parser, UnresolvedOperand
from xdsl.utils.exceptions import DiagnosticException, ParseError, VerifyException
from xdsl.utils.lexer import Span
from xdsl.utils.mlir_lexer import MLIRLexer, MLIRTokenKind

STRING_LITERAL = re.compile(r'"(?:[^"\\\n\v\f]|\\(?:["nt\\]|[0-9A-Fa-f]{2}))*"')
"""The lexer's string-literal pattern, one character per repetition. xDSL 0.74's pattern
repeats a repetition (`(?:[^"...]+|...)*"`), which backtracks exponentially on a quote left
open before the end of its line: one stray `"` made ziggurat-opt hang. Same strings, linear
time; set on the lexer class, so every parser in the process uses it."""
MLIRLexer._unescaped_characters_regex = STRING_LITERAL

MAX_INTEGER_WIDTH = (1 << 24) - 1
"""MLIR's widest integer type. xDSL takes any width and computes the type's range with
`1 << width`: `i99999999999999999999` raised OverflowError, and a ten-digit width would
allocate gigabytes."""
INTEGER_TYPE = re.compile(r"[su]?i(\d+)")


@dataclass(frozen=True)
class Location:
    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Diagnostic:
    """One error with its place (None when it has none, e.g. a pipeline option)."""

    message: str
    location: Location | None = None

    def __str__(self) -> str:
        place = f"{self.location}: " if self.location else ""
        return f"{place}error: {self.message}"


class LocatingParser(Parser):
    """A parser that remembers where each operation starts, shifted by `line_offset` lines
    (for chunks of a `--split-input-file` input)."""

    def __init__(self, ctx: Context, text: str, name: str, line_offset: int = 0):
        super().__init__(ctx, text, name)
        self.file = name
        self.line_offset = line_offset
        self.locations: dict[Operation, Location] = {}
        self.first_uses: dict[str, Span] = {}

    def resolve_operand(
        self,
        operand: UnresolvedOperand,
        type: AttributeInvT,  # noqa: A002
    ) -> SSAValue[AttributeInvT]:
        name = operand.operand_name
        if name not in self.ssa_values and name not in self.forward_ssa_references:
            self.first_uses.setdefault(name, operand.span)
        return super().resolve_operand(operand, type)

    def parse_module(self, allow_implicit_module: bool = True) -> ModuleOp:
        """Parses the module; a value used but never defined is reported at its first use,
        an attribute that fails its verifier where the parser stopped."""
        try:
            return super().parse_module(allow_implicit_module)
        except VerifyException as err:
            raise ParseError(self._current_token.span, _message(err)) from None
        except ParseError as err:
            undefined = [n for n in self.forward_ssa_references if n in self.first_uses]
            if "values used but not defined" not in err.msg or not undefined:
                raise
            names = ", ".join(f"%{n}" for n in undefined)
            raise ParseError(
                self.first_uses[undefined[0]], f"use of undefined value {names}"
            ) from None

    def _parse_optional_integer_or_float_type(self) -> TypeAttribute | None:
        token = self._current_token
        width = (
            INTEGER_TYPE.fullmatch(token.text) if token.kind == MLIRTokenKind.BARE_IDENT else None
        )
        if width and (len(width.group(1)) > 8 or int(width.group(1)) > MAX_INTEGER_WIDTH):
            raise ParseError(
                token.span, f"integer type {token.text} is wider than {MAX_INTEGER_WIDTH} bits"
            )
        return super()._parse_optional_integer_or_float_type()

    def parse_operation(self) -> Operation:
        span = self._current_token.span
        location = span.get_location()
        op = super().parse_operation()
        self.locations[op] = Location(self.file, location.line + self.line_offset, location.col)
        return op


def parse_error_diagnostic(error: ParseError, line_offset: int = 0) -> Diagnostic:
    location = error.span.get_location()
    place = Location(str(location.file), location.line + line_offset, location.col)
    return Diagnostic(error.msg, place)


def _message(error: Exception) -> str:
    text = str(error.args[0]) if error.args else str(error)
    return " ".join(text.split()) or type(error).__name__


def failing_op(module: ModuleOp) -> tuple[Operation, str] | None:
    """The innermost op that does not verify, with the verifier's message."""
    failure: tuple[Operation, str] | None = None
    for op in module.walk():
        try:
            op.verify(verify_nested_ops=False)
        except (VerifyException, DiagnosticException, ValueError) as err:
            failure = (op, _message(err))
    return failure


def verify_located(module: ModuleOp, locations: dict[Operation, Location]) -> Diagnostic | None:
    """None if the module verifies, else a diagnostic at the failing op's source position."""
    try:
        module.verify()
        return None
    except (VerifyException, DiagnosticException, ValueError) as err:
        found = failing_op(module)
        if found is None:
            return Diagnostic(_message(err))
        op, message = found
        for prefix in (f"{op.name}: ", f"{op.name} "):
            if message.startswith(prefix):
                message = message[len(prefix) :]
        return Diagnostic(f"'{op.name}' op {message}", locations.get(op))
