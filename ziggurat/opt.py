"""`ziggurat-opt`: xDSL's opt driver with Ziggurat's dialects, passes and params store.

    ziggurat-opt model.mlir -p convert-graph-to-te,convert-te-to-sched
    ziggurat-opt model.mlir -p convert-graph-to-te,...,convert-target-to-llvm -t llvm

Weights referenced by `graph.weight` load from `model.params.npz` beside the input (or
`--params FILE`), so passes that read or add weights work on imported models. User errors
(bad IR, unknown pass, bad option) print one located message and exit 1; `--traceback` shows
the Python trace instead.
"""

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from xdsl.dialects.builtin import ModuleOp
from xdsl.utils.exceptions import DiagnosticException, ParseError, VerifyException
from xdsl.xdsl_opt_main import xDSLOptMain

from ziggurat.context import OWN_DIALECTS, CompilerContext
from ziggurat.errors import ZigguratError
from ziggurat.passes.pass_manager import PassManager
from ziggurat.passes.registry import OWN_PASSES
from ziggurat.runtime.params import load_params


class ZigguratOptMain(xDSLOptMain):
    version_format = "ziggurat-opt (xdsl {xdsl_version})"
    ctx: CompilerContext

    def register_all_dialects(self) -> None:
        self.ctx = CompilerContext()
        super().register_all_dialects()
        for dialect in OWN_DIALECTS:
            self.ctx.register_dialect(dialect.name, lambda d=dialect: d)

    def register_all_passes(self) -> None:
        super().register_all_passes()
        for name, factory in OWN_PASSES.items():
            self.register_pass(name, factory)

    def register_all_arguments(self, arg_parser: argparse.ArgumentParser) -> None:
        super().register_all_arguments(arg_parser)
        arg_parser.add_argument(
            "--params",
            default=None,
            help="weights (.npz) for graph.weight ops; default: <input>.params.npz if present",
        )
        arg_parser.add_argument(
            "--traceback", action="store_true", help="show Python tracebacks for errors"
        )

    def setup_pipeline(self) -> None:
        self.pass_manager = PassManager.parse(self.args.passes) if self.args.passes else None
        self._load_params()

    def _load_params(self) -> None:
        path = self.args.params
        if path is None and self.args.input_file:
            beside = Path(self.args.input_file).with_suffix(".params.npz")
            path = beside if beside.exists() else None
        if path is not None:
            self.ctx.params.update(load_params(path))

    def apply_passes(self, prog: ModuleOp) -> None:
        if self.pass_manager is not None:
            self.pass_manager.run(self.ctx, prog)
        elif not self.args.disable_verify:
            prog.verify()


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    show_traceback = "--traceback" in args
    try:
        ZigguratOptMain(description="Ziggurat's modular optimizer driver", args=args).run()
    except (
        ZigguratError,
        ParseError,
        VerifyException,
        DiagnosticException,
        ValueError,
        OSError,
    ) as err:
        if show_traceback:
            raise
        print(f"error: {str(err).strip()}", file=sys.stderr)
        return 1
    return 0
