"""One pass manager for every level: parses pipeline strings against the registry, runs passes
with verification after each, and calls instruments around them (TVM's PassInstrument)."""

import difflib
from collections.abc import Sequence

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass, get_pass_option_infos
from xdsl.utils.arg_spec import parse_pipeline
from xdsl.utils.exceptions import (
    ArgSpecParseError,
    DiagnosticException,
    ParseError,
    VerifyException,
)

from ziggurat.errors import CompileError
from ziggurat.passes.registry import all_passes


class PassInstrument:
    """Hooks around each pass; subclass and override what you need."""

    def run_before_pass(self, pass_: ModulePass, module: ModuleOp) -> None:
        """Called before `pass_` runs on `module`."""

    def run_after_pass(self, pass_: ModulePass, module: ModuleOp) -> None:
        """Called after `pass_` ran (and the module verified)."""

    def run_after_failure(self, pass_: ModulePass, module: ModuleOp, error: Exception) -> None:
        """Called when `pass_` raised or left IR that does not verify."""


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
    """Runs passes in order on a module, verifying after each one."""

    def __init__(
        self,
        passes: Sequence[ModulePass],
        *,
        verify_each: bool = True,
        instruments: Sequence[PassInstrument] = (),
    ):
        self.passes = list(passes)
        self.verify_each = verify_each
        self.instruments = list(instruments)

    @classmethod
    def parse(cls, spec: str, **options: object) -> "PassManager":
        return cls(parse_passes(spec), **options)  # type: ignore[arg-type]

    @property
    def pipeline(self) -> str:
        return ",".join(str(p.pipeline_pass_spec()) for p in self.passes)

    def run(self, ctx: Context, module: ModuleOp) -> None:
        for pass_ in self.passes:
            for instrument in self.instruments:
                instrument.run_before_pass(pass_, module)
            try:
                pass_.apply(ctx, module)
                if self.verify_each:
                    module.verify()
            except (CompileError, VerifyException, DiagnosticException) as err:
                for instrument in self.instruments:
                    instrument.run_after_failure(pass_, module, err)
                if isinstance(err, CompileError):
                    raise
                raise CompileError(
                    f"after pass '{pass_.name}' the IR does not verify: {err}"
                ) from err
            except Exception as err:
                for instrument in self.instruments:
                    instrument.run_after_failure(pass_, module, err)
                raise
            for instrument in self.instruments:
                instrument.run_after_pass(pass_, module)
