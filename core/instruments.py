"""Pass instruments: what mlir-opt's debugging flags do, usable from Python and the driver.

    ziggurat.build(mod, params=params, instruments=[PrintIR(after_all=True), PassTiming()])

Dumps go to stderr by default, each headed by the pass name, as mlir-opt prints them.
"""

import sys
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from ziggurat.core.context import ir_text
from ziggurat.core.pass_manager import PassInstrument


def _header(when: str, pass_: ModulePass) -> str:
    return f"// -----// IR Dump {when} {pass_.name} //----- //\n"


class PrintIR(PassInstrument):
    """Prints the module around passes: before or after named passes or all of them, after
    a pass only when it changed the IR, and when a pass fails."""

    def __init__(
        self,
        before: Iterable[str] = (),
        after: Iterable[str] = (),
        before_all: bool = False,
        after_all: bool = False,
        after_change: bool = False,
        after_failure: bool = False,
        stream: TextIO | None = None,
    ):
        self.before, self.after = set(before), set(after)
        self.before_all, self.after_all = before_all, after_all
        self.after_change, self.after_failure = after_change, after_failure
        self.stream = stream
        self._text_before: str | None = None

    def _write(self, text: str) -> None:
        stream = self.stream or sys.stderr
        stream.write(text)
        stream.flush()

    def run_before_pass(self, pass_: ModulePass, module: ModuleOp) -> None:
        if self.after_change:
            self._text_before = ir_text(module)
        if self.before_all or pass_.name in self.before:
            self._write(_header("Before", pass_) + (self._text_before or ir_text(module)))

    def run_after_pass(self, pass_: ModulePass, module: ModuleOp) -> None:
        if self.after_all or pass_.name in self.after:
            self._write(_header("After", pass_) + ir_text(module))
        elif self.after_change:
            text = ir_text(module)
            if text != self._text_before:
                self._write(_header("After", pass_) + text)

    def run_after_failure(self, pass_: ModulePass, module: ModuleOp, error: Exception) -> None:
        if self.after_failure:
            self._write(_header("After Failure", pass_) + ir_text(module))


class DumpIRTree(PassInstrument):
    """Writes the module after each pass to `DIR/NNN_<pass>.mlir` (000 is the input), so
    the steps can be diffed file by file."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.counter = 0
        self.started = False

    def _dump(self, name: str, module: ModuleOp) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{self.counter:03d}_{name}.mlir"
        path.write_text(ir_text(module))
        self.counter += 1

    def run_before_pass(self, pass_: ModulePass, module: ModuleOp) -> None:
        if not self.started:
            self.started = True
            self._dump("input", module)

    def run_after_pass(self, pass_: ModulePass, module: ModuleOp) -> None:
        self._dump(pass_.name, module)


class PassTiming(PassInstrument):
    """Wall time per pass, plus any phases the caller adds (parse, print, a build's backend),
    as a table. Detail rows break a phase down (e.g. seconds summed over the units that
    worker processes compiled at once) and are left out of the total."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, float]] = []
        self.detail_rows: set[int] = set()
        self._started = 0.0

    def add(self, name: str, seconds: float, detail: bool = False) -> None:
        if detail:
            self.detail_rows.add(len(self.rows))
        self.rows.append((name, seconds))

    def run_before_pass(self, pass_: ModulePass, module: ModuleOp) -> None:
        self._started = time.perf_counter()

    def run_after_pass(self, pass_: ModulePass, module: ModuleOp) -> None:
        self.add(pass_.name, time.perf_counter() - self._started)

    @property
    def total(self) -> float:
        return sum(s for n, (_, s) in enumerate(self.rows) if n not in self.detail_rows)

    def report(self) -> str:
        total = self.total or 1e-12
        lines = [
            "===" + "-" * 70 + "===",
            "  ... Execution time report ...",
            "===" + "-" * 70 + "===",
            f"  Total Execution Time: {total:.4f} seconds",
            "",
            "  ----Wall Time----  ----Name----",
        ]
        for n, (name, seconds) in enumerate(self.rows):
            if n in self.detail_rows:
                lines.append(f"  {seconds:8.4f}           - {name}")
            else:
                lines.append(f"  {seconds:8.4f} ({100 * seconds / total:5.1f}%)  {name}")
        lines.append(f"  {total:8.4f} (100.0%)  Total")
        return "\n".join(lines) + "\n"


class PassStatistics(PassInstrument):
    """Per-pass counters: those the pass reports (passes/statistics.py) and the change in
    the number of ops of each kind."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, Counter[str]]] = []
        self._ops_before: Counter[str] = Counter()

    @staticmethod
    def _op_counts(module: ModuleOp) -> Counter[str]:
        return Counter(op.name for op in module.walk())

    def run_before_pass(self, pass_: ModulePass, module: ModuleOp) -> None:
        self._ops_before = self._op_counts(module)

    def record_statistics(
        self, pass_: ModulePass, module: ModuleOp, reported: Counter[str]
    ) -> None:
        after = self._op_counts(module)
        counters = Counter(reported)
        counters["ops-before"] = sum(self._ops_before.values())
        counters["ops-after"] = sum(after.values())
        self.rows.append((pass_.name, counters))

    def report(self) -> str:
        lines = [
            "===" + "-" * 70 + "===",
            "  ... Pass statistics report ...",
            "===" + "-" * 70 + "===",
        ]
        for name, counters in self.rows:
            lines.append(f"'{name}'")
            for key in sorted(counters):
                lines.append(f"  ({key}) {counters[key]:>8}")
        return "\n".join(lines) + "\n"
