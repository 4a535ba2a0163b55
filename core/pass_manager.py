"""One pass manager for every level: parses pipeline strings against the registry, runs passes
with verification after each, and calls instruments around them (TVM's PassInstrument)."""

import difflib
from collections import Counter
from collections.abc import Callable, Sequence

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass, get_pass_option_infos
from xdsl.utils.arg_spec import parse_pipeline
from xdsl.utils.exceptions import (
    ArgSpecParseError,
    DiagnosticException,
    ParseError,
    VerifyException,
)

from ziggurat.core import statistics
from ziggurat.core.collection import young_only
from ziggurat.core.context import ir_text
from ziggurat.core.errors import CompileError
from ziggurat.core.registry import all_passes


class PassInstrument:
    """Hooks around each pass; subclass and override what you need."""

    def run_before_pass(self, pass_: ModulePass, module: ModuleOp) -> None:
        """Called before `pass_` runs on `module`."""

    def run_after_pass(self, pass_: ModulePass, module: ModuleOp) -> None:
        """Called after `pass_` ran (and the module verified)."""

    def run_after_failure(self, pass_: ModulePass, module: ModuleOp, error: Exception) -> None:
        """Called when `pass_` raised or left IR that does not verify."""

    def record_statistics(
        self, pass_: ModulePass, module: ModuleOp, counters: Counter[str]
    ) -> None:
        """Called after `pass_` with the counters it reported (passes/statistics.py)."""


class PassFailure(CompileError):
    """A pass raised or left IR that does not verify. Carries what a reproducer needs: the
    IR before the pass (when kept) and the pipeline from the failing pass on."""

    def __init__(self, message: str, pass_name: str, remaining: str, ir_before: str | None):
        super().__init__(message)
        self.pass_name = pass_name
        self.remaining_pipeline = remaining
        self.ir_before = ir_before


def _option_help(pass_cls: type[ModulePass]) -> str:
    infos = get_pass_option_infos(pass_cls)
    if not infos:
        return "it takes no options"
    return "its options are " + ", ".join(
        f"{name.replace('_', '-')}: {type_}" for name, type_, _ in infos
    )


def parse_passes(spec: str) -> list[ModulePass]:
    """Passes from a pipeline string such as `convert-sched-to-target{target="llvm"},cse`."""
    available = all_passes()
    try:
        specs = list(parse_pipeline(spec))
    except (ArgSpecParseError, ParseError, ValueError) as err:
        raise CompileError(f"bad pipeline {spec!r}: {err}") from err
    passes: list[ModulePass] = []
    for arg_spec in specs:
        factory = available.get(arg_spec.name)
        if factory is None:
            close = difflib.get_close_matches(arg_spec.name, list(available), n=3)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise CompileError(f"unknown pass '{arg_spec.name}'{hint}")
        pass_cls = factory()
        try:
            passes.append(pass_cls.from_spec(arg_spec))
        except (ValueError, TypeError) as err:
            raise CompileError(
                f"bad options for pass '{arg_spec.name}': {err}; {_option_help(pass_cls)}"
            ) from err
    return passes


class PassManager:
    """Runs passes in order on a module, verifying after each one (or, without
    `verify_each`, once at the end: verification costs about a third of a model's build;
    `verify_result=False` skips that too, for IR another verifier checks next, as LLVM's
    does the llvm dialect's). With `keep_reproducer`, a failure carries the IR from before
    the failing pass."""

    def __init__(
        self,
        passes: Sequence[ModulePass],
        *,
        verify_each: bool = True,
        instruments: Sequence[PassInstrument] = (),
        keep_reproducer: bool = False,
        verify_result: bool = True,
    ):
        self.passes = list(passes)
        self.verify_each = verify_each
        self.verify_result = verify_result
        self.instruments = list(instruments)
        self.keep_reproducer = keep_reproducer

    @classmethod
    def parse(cls, spec: str, **options: object) -> "PassManager":
        return cls(parse_passes(spec), **options)  # type: ignore[arg-type]

    @property
    def pipeline(self) -> str:
        return ",".join(str(p.pipeline_pass_spec()) for p in self.passes)

    def run(self, ctx: Context, module: ModuleOp) -> None:
        for index, pass_ in enumerate(self.passes):
            before = ir_text(module) if self.keep_reproducer else None
            for instrument in self.instruments:
                instrument.run_before_pass(pass_, module)
            try:
                with statistics.collect() as counters, young_only():
                    pass_.apply(ctx, module)
                if self.verify_each:
                    module.verify()
            except Exception as err:
                for instrument in self.instruments:
                    instrument.run_after_failure(pass_, module, err)
                remaining = ",".join(str(p.pipeline_pass_spec()) for p in self.passes[index:])
                if isinstance(err, VerifyException | DiagnosticException):
                    message = f"after pass '{pass_.name}' the IR does not verify: {first_line(err)}"
                elif isinstance(err, CompileError):
                    message = f"pass '{pass_.name}' failed: {err}"
                else:
                    message = f"pass '{pass_.name}' crashed: {type(err).__name__}: {err}"
                raise PassFailure(message, pass_.name, remaining, before) from err
            for instrument in self.instruments:
                instrument.run_after_pass(pass_, module)
                instrument.record_statistics(pass_, module, counters)
        if self.verify_result and not self.verify_each and self.passes:
            self.verify(module)

    def verify(self, module: ModuleOp, skip: Callable[[Operation], bool] | None = None) -> None:
        """Checks the module as the pipeline's result; with `skip`, only its top-level ops
        that `skip` does not name (their owner verifies those)."""
        try:
            if skip is None:
                module.verify()
            else:
                for op in module.ops:
                    if not skip(op):
                        op.verify()
        except (VerifyException, DiagnosticException) as err:
            raise PassFailure(
                f"after pipeline '{self.pipeline}' the IR does not verify: {first_line(err)}",
                self.passes[-1].name if self.passes else "",
                "",
                None,
            ) from err


def first_line(error: Exception) -> str:
    text = str(error.args[0]) if error.args else str(error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__
