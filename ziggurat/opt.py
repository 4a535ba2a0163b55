"""`ziggurat-opt`: xDSL's opt driver with Ziggurat's dialects, passes, params store and
mlir-opt's debugging flags.

    ziggurat-opt model.mlir -p convert-graph-to-te,convert-te-to-sched --print-ir-after-all
    ziggurat-opt model.mlir -p ...,convert-target-to-llvm -t llvm
    ziggurat-opt --list-passes

Weights referenced by `graph.weight` load from `model.params.npz` beside the input (or
`--params FILE`); weights that passes add are written beside the `-o` output. Errors print as `file:line:col: error: ...` and exit 1; a failing pass also
leaves `<input>.repro.mlir` to replay with `--run-reproducer`. `--traceback` shows Python's
trace instead. `--tuning-log best.jsonl` runs the passes under that log's best configs (the
templates' and graph-winograd's choices), as `ziggurat compile --tuning-log` builds.
"""

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING

from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Dialect
from xdsl.passes import get_pass_option_infos
from xdsl.utils.exceptions import ParseError
from xdsl.xdsl_opt_main import xDSLOptMain

from ziggurat.core.context import OWN_DIALECTS, CompilerContext
from ziggurat.core.diagnostics import (
    Diagnostic,
    LocatingParser,
    parse_error_diagnostic,
    verify_located,
)
from ziggurat.core.errors import ZigguratError
from ziggurat.core.instruments import DumpIRTree, PassStatistics, PassTiming, PrintIR
from ziggurat.core.pass_manager import PassFailure, PassInstrument, PassManager, parse_passes
from ziggurat.core.registry import PLUGIN_DIALECTS, all_passes
from ziggurat.dialects.target import CPU_ATTR, CpuTargetAttr
from ziggurat.expected_diagnostics import check, expectations
from ziggurat.plugins import load_entry_point_plugins, load_plugin
from ziggurat.runtime.errors import RuntimeModuleError
from ziggurat.runtime.params import load_params, save_params

if TYPE_CHECKING:
    from ziggurat.tune.records import MeasureRecord

REPRODUCER_HEADER = "// ziggurat-opt reproducer"
REPRODUCER_PIPELINE = "// pipeline: "


class DriverError(ZigguratError):
    """An error already formatted as the driver prints it, with its diagnostic if located."""

    def __init__(self, text: str, diagnostic: Diagnostic | None = None):
        super().__init__(text)
        self.diagnostic = diagnostic or Diagnostic(text)


def _names(values: Sequence[str]) -> set[str]:
    return {name for value in values for name in value.split(",") if name}


def _factory_of(dialect: Dialect) -> Callable[[], Dialect]:
    """A dialect factory for the context that hands back `dialect` itself."""
    return lambda: dialect


class ZigguratOptMain(xDSLOptMain):
    version_format = "ziggurat-opt (xdsl {xdsl_version})"
    ctx: CompilerContext

    def register_all_dialects(self) -> None:
        self.ctx = CompilerContext()
        super().register_all_dialects()
        for dialect in (*OWN_DIALECTS, *PLUGIN_DIALECTS):
            self.ctx.register_dialect(dialect.name, _factory_of(dialect))

    def register_all_passes(self) -> None:
        for name, factory in all_passes().items():
            self.register_pass(name, factory)

    def register_all_arguments(self, arg_parser: argparse.ArgumentParser) -> None:
        super().register_all_arguments(arg_parser)
        add = arg_parser.add_argument
        add(
            "--params",
            help="weights (.npz) for graph.weight; default: <input>.params.npz if present",
        )
        add("--traceback", action="store_true", help="show Python tracebacks for errors")
        add(
            "--tuning-log",
            metavar="FILE.jsonl",
            help="run the passes with the best configs of this tuning log",
        )
        add(
            "--load-plugin",
            action="append",
            default=[],
            metavar="FILE.py|MODULE",
            help="load a plugin that registers passes or dialects",
        )
        add(
            "--print-ir-before",
            action="append",
            default=[],
            metavar="PASS",
            help="print the IR before these passes (comma-separated) to stderr",
        )
        add(
            "--print-ir-after",
            action="append",
            default=[],
            metavar="PASS",
            help="print the IR after these passes (comma-separated) to stderr",
        )
        add("--print-ir-before-all", action="store_true", help="print the IR before every pass")
        add("--print-ir-after-all", action="store_true", help="print the IR after every pass")
        add(
            "--print-ir-after-change",
            action="store_true",
            help="print the IR after a pass only if it changed it",
        )
        add(
            "--print-ir-after-failure",
            action="store_true",
            help="print the IR after a pass that failed",
        )
        add(
            "--print-ir-tree-dir",
            metavar="DIR",
            help="write the IR after each pass to DIR/NNN_<pass>.mlir",
        )
        add("--timing", action="store_true", help="print a table of parse, pass and output times")
        add("--pass-statistics", action="store_true", help="print per-pass counters")
        add(
            "--run-reproducer", metavar="FILE", help="replay a .repro.mlir written by a failing run"
        )
        add(
            "--no-reproducer",
            action="store_true",
            help="do not write a reproducer when a pass fails",
        )
        add(
            "--verify-expected-diagnostics",
            action="store_true",
            help="check // expected-error@+N {{...}} comments instead of printing errors",
        )
        add("--list-passes", action="store_true", help="list every pass with its options")
        add("--list-dialects", action="store_true", help="list every dialect")

    def setup_pipeline(self) -> None:
        args = self.args
        if args.run_reproducer:
            pipeline, _ = read_reproducer(args.run_reproducer)
            args.input_file = args.run_reproducer
            args.passes = args.passes or pipeline
        self.pass_manager = PassManager(parse_passes(args.passes)) if args.passes else None
        self._tuning_records: list[MeasureRecord] | None = None
        self._load_params()

    def _save_params(self) -> None:
        """Weights that passes added go beside the output, so the next run finds them."""
        if self.args.output_file and set(self.ctx.params) != self._loaded_param_names:
            target = Path(self.args.output_file).with_suffix(".params.npz")
            partial = target.with_name(f".{target.name}.partial.npz")
            save_params(partial, self.ctx.params)
            partial.replace(target)

    def _load_params(self) -> None:
        path = self.args.params
        if path is None and self.args.input_file:
            beside = Path(self.args.input_file).with_suffix(".params.npz")
            path = beside if beside.exists() else None
        if path is not None:
            self.ctx.params.update(load_params(path))
        self._loaded_param_names = set(self.ctx.params)

    def _instruments(self) -> tuple[list[PassInstrument], PassTiming | None, PassStatistics | None]:
        args = self.args
        instruments: list[PassInstrument] = []
        printing = PrintIR(
            before=_names(args.print_ir_before),
            after=_names(args.print_ir_after),
            before_all=args.print_ir_before_all,
            after_all=args.print_ir_after_all,
            after_change=args.print_ir_after_change,
            after_failure=args.print_ir_after_failure,
        )
        instruments.append(printing)
        if args.print_ir_tree_dir:
            instruments.append(DumpIRTree(args.print_ir_tree_dir))
        timing = PassTiming() if args.timing else None
        stats = PassStatistics() if args.pass_statistics else None
        instruments += [i for i in (timing, stats) if i is not None]
        return instruments, timing, stats

    def input_name(self) -> str:
        return self.args.input_file or "<stdin>"

    def parse(self, text: str, line_offset: int) -> tuple[ModuleOp, LocatingParser]:
        try:
            # The parser reads the first token as it is made, so a bad first character
            # fails here.
            parser = LocatingParser(self.ctx, text, self.input_name(), line_offset)
            module = parser.parse_module(not self.args.no_implicit_module)
        except ParseError as err:
            diagnostic = parse_error_diagnostic(err, line_offset)
            raise DriverError(str(diagnostic), diagnostic) from err
        return module, parser

    def process(
        self,
        text: str,
        line_offset: int,
        timing: PassTiming | None,
        instruments: list[PassInstrument],
    ) -> ModuleOp:
        started = time.perf_counter()
        module, parser = self.parse(text, line_offset)
        if timing:
            timing.add("parse", time.perf_counter() - started)
        if not self.args.disable_verify:
            diagnostic = verify_located(module, parser.locations)
            if diagnostic is not None:
                raise DriverError(str(diagnostic), diagnostic)
        if self.pass_manager is not None:
            manager = PassManager(
                self.pass_manager.passes,
                verify_each=not self.args.disable_verify,
                instruments=instruments,
                keep_reproducer=not self.args.no_reproducer,
            )
            try:
                with self._tuned_configs(module):
                    manager.run(self.ctx, module)
            except PassFailure as failure:
                raise DriverError(self._failure_message(failure)) from failure
        return module

    def _tuned_configs(self, module: ModuleOp) -> AbstractContextManager[object]:
        """The `--tuning-log`'s best configs for the module's target (the host without one);
        the tuning layer loads only when asked for (it takes seconds to import)."""
        if not self.args.tuning_log:
            return nullcontext()
        from ziggurat.tune.history import apply_history_best
        from ziggurat.tune.records import load_records

        if self._tuning_records is None:
            self._tuning_records = load_records(self.args.tuning_log)
        cpu = module.attributes.get(CPU_ATTR)
        target = cpu if isinstance(cpu, CpuTargetAttr) else "llvm -mcpu=native"
        return apply_history_best(self._tuning_records, target, quiet=True)

    def _failure_message(self, failure: PassFailure) -> str:
        message = f"{self.input_name()}: error: {failure}"
        if failure.ir_before is None:
            return message
        source = Path(self.args.input_file) if self.args.input_file else Path("ziggurat-opt")
        path = source.with_suffix(".repro.mlir")
        path.write_text(
            f"{REPRODUCER_HEADER}\n{REPRODUCER_PIPELINE}{failure.remaining_pipeline}\n"
            f"{failure.ir_before}"
        )
        return f"{message}\nnote: reproducer written to {path}; replay it with ziggurat-opt --run-reproducer {path}"

    def run(self) -> int:
        args = self.args
        if args.list_passes:
            sys.stdout.write(list_passes())
            return 0
        if args.list_dialects:
            names = sorted({*self.ctx.registered_dialect_names, *(d.name for d in OWN_DIALECTS)})
            sys.stdout.write("\n".join(names) + "\n")
            return 0
        instruments, timing, stats = self._instruments()
        chunks, _ = self.prepare_input()
        output = StringIO()
        status = 0
        for index, (chunk, offset) in enumerate(chunks):
            text = chunk.read().decode()
            chunk.close()
            if index > 0:
                output.write("// -----\n")
            if args.verify_expected_diagnostics:
                status |= self._check_chunk(text, offset, instruments, timing, output)
                continue
            try:
                module = self.process(text, offset, timing, instruments)
            except DriverError as err:
                if not args.verify_diagnostics:
                    raise
                output.write(f"{err.diagnostic}\n")
                continue
            started = time.perf_counter()
            output.write(self.output_resulting_program(module))
            if timing:
                timing.add("output", time.perf_counter() - started)
        self._write_output(output.getvalue())
        self._save_params()
        if timing:
            sys.stderr.write(timing.report())
        if stats:
            sys.stderr.write(stats.report())
        return status

    def _check_chunk(
        self,
        text: str,
        offset: int,
        instruments: list[PassInstrument],
        timing: PassTiming | None,
        output: StringIO,
    ) -> int:
        produced: list[Diagnostic] = []
        try:
            module = self.process(text, offset, timing, instruments)
            output.write(self.output_resulting_program(module))
        except DriverError as err:
            produced.append(err.diagnostic)
        problems = check(expectations(text, offset), produced, self.input_name())
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0

    def _write_output(self, text: str) -> None:
        if self.args.output_file is None:
            sys.stdout.write(text)
            return
        path = Path(self.args.output_file)
        partial = path.with_name(f".{path.name}.partial")
        partial.write_text(text)
        partial.replace(path)


def read_reproducer(path: str) -> tuple[str, str]:
    """(pipeline, IR) of a reproducer file."""
    try:
        text = Path(path).read_text()
    except OSError as err:
        raise DriverError(f"error: cannot read reproducer {path}: {err.strerror}") from err
    lines = text.splitlines()
    if (
        len(lines) < 2
        or lines[0] != REPRODUCER_HEADER
        or not lines[1].startswith(REPRODUCER_PIPELINE)
    ):
        raise DriverError(
            f"{path}:1:1: error: not a ziggurat-opt reproducer (no '{REPRODUCER_HEADER}' header)"
        )
    return lines[1][len(REPRODUCER_PIPELINE) :], text


def list_passes() -> str:
    """Each pass, the first line of its description, and its options with types and defaults."""
    lines: list[str] = []
    for name, factory in sorted(all_passes().items()):
        try:
            cls = factory()
        except Exception as err:  # an optional dependency of an xDSL pass may be missing
            lines.append(f"{name}  (unavailable: {type(err).__name__})")
            continue
        summary = " ".join((cls.__doc__ or "").strip().split("\n\n", 1)[0].split())
        lines.append(f"{name}  {summary}".rstrip())
        for option, type_, default in get_pass_option_infos(cls):
            lines.append(f"    {option.replace('_', '-')}: {type_} = {default}")
    return "\n".join(lines) + "\n"


def _plugins_from_argv(argv: Sequence[str]) -> list[str]:
    plugins: list[str] = []
    for index, arg in enumerate(argv):
        if arg == "--load-plugin" and index + 1 < len(argv):
            plugins.append(argv[index + 1])
        elif arg.startswith("--load-plugin="):
            plugins.append(arg.split("=", 1)[1])
    return plugins


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    show_traceback = "--traceback" in args
    try:
        load_entry_point_plugins()
        for plugin in _plugins_from_argv(args):
            load_plugin(plugin)
        return ZigguratOptMain(description="Ziggurat's modular optimizer driver", args=args).run()
    except DriverError as err:
        if show_traceback:
            raise
        text = str(err)
        print(
            text
            if ": error: " in text.split("\n", 1)[0] or text.startswith("error")
            else f"error: {text}",
            file=sys.stderr,
        )
        return 1
    except (ZigguratError, RuntimeModuleError, ValueError, OSError) as err:
        if show_traceback:
            raise
        print(f"error: {str(err).strip()}", file=sys.stderr)
        return 1
