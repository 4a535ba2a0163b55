"""`ziggurat tune`: tune a model's kernels from the shell, and read tuning logs.

    ziggurat tune model.onnx --tuner random --trials 200 --early-stopping 50 --log tune.jsonl
    ziggurat tune show tune.jsonl              # each kernel's best config and its schedule
    ziggurat tune merge a.jsonl b.jsonl -o best.jsonl

Tuning appends to the log as it goes; run the same command again after an interruption and
it continues where it stopped. `--time 20m` bounds the whole run.
"""

import argparse
import re
import time
from pathlib import Path
from typing import Any

from ziggurat.core.errors import ZigguratError

NATIVE = "llvm -mcpu=native"


def _seconds(text: str) -> float:
    """`90`, `90s`, `20m` or `2h` in seconds."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smh]?)", text.strip())
    if match is None:
        raise ZigguratError(f"--time {text!r}: give a duration like 90s, 20m or 2h")
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


def cmd_tune(args: argparse.Namespace) -> int:
    if args.items[0] == "show":
        return _show(args.items[1:])
    if args.items[0] == "merge":
        return _merge(args.items[1:], args.output)
    if len(args.items) != 1:
        raise ZigguratError("ziggurat tune takes one model (or: show LOG, merge LOGS -o OUT)")
    return _tune(args, args.items[0])


def _tune(args: argparse.Namespace, model: str) -> int:
    from ziggurat import tune
    from ziggurat.cli import _parse_shapes
    from ziggurat.frontend.onnx.importer import from_onnx

    if args.tuner not in tune.TUNERS:
        raise ZigguratError(
            f"unknown tuner {args.tuner!r}; tuners are {', '.join(sorted(tune.TUNERS))}"
        )
    deadline = time.monotonic() + _seconds(args.time) if args.time else None
    log = Path(args.log)
    history = tune.load_records(log) if log.is_file() else []
    target = args.target or NATIVE
    module, params = from_onnx(model, shape=_parse_shapes(args.shape))
    tasks = tune.extract_tasks(module, target=target, params=params, opt_level=args.opt_level)
    option = tune.measure_option(
        runner=tune.LocalRunner(
            number=args.number, repeat=args.repeat, min_repeat_ms=args.min_repeat_ms
        )
    )
    rows: list[tuple[Any, ...]] = []
    with tune.LocalMeasurer(option) as measurer:
        for n, task in enumerate(tasks):
            tuner = tune.TUNERS[args.tuner](task)
            tuner.load_history(history)
            trials = min(args.trials, len(task.space))
            left = trials - len(tuner.visited)
            if left > 0 and (deadline is None or time.monotonic() < deadline):
                tuner.tune(
                    n_trial=left,
                    early_stopping=args.early_stopping,
                    measurer=_Bounded(measurer, deadline),
                    callbacks=[
                        tune.callback.progress_bar(left, prefix=f"[Task {n + 1}/{len(tasks)}]"),
                        tune.callback.log_to_file(log),
                    ],
                )
            default = tuner.costs.get(task.default, float("inf"))
            rows.append((task.name, task.weight, default, tuner.best_cost, tuner.best_config))
    _print_table(rows)
    return 0


class _Bounded:
    """A measurer that measures nothing once the deadline passed (the run then ends)."""

    def __init__(self, measurer: Any, deadline: float | None):
        self.measurer, self.deadline = measurer, deadline

    def measure(self, task: Any, configs: Any) -> Any:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return []
        return self.measurer.measure(task, configs)


def _print_table(rows: list[tuple[Any, ...]]) -> None:
    """Per kernel: launches per inference, default and best time, the best config."""
    print(f"{'kernel':<28} {'weight':>6} {'default us':>10} {'best us':>10}  config")
    for name, weight, default, best, config in rows:
        print(f"{name:<28} {weight:>6} {_us(default)} {_us(best)}  {config or '-'}")


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:10.1f}" if seconds < float("inf") else f"{'-':>10}"


def _show(logs: list[str]) -> int:
    from ziggurat.tune.records import best_records, load_records

    if len(logs) != 1:
        raise ZigguratError("ziggurat tune show takes one log")
    records = load_records(logs[0])
    for (_, target), record in sorted(
        best_records(records).items(), key=lambda kv: kv[1].workload.name
    ):
        print(
            f"{record.workload.name} on {target.cpu}: {record.result.median * 1e6:.1f} us, {record.config}"
        )
        for step in record.trace.split("; "):
            print(f"    {step}")
    print(f"{len(records)} records in {logs[0]}")
    return 0


def _merge(logs: list[str], output: str | None) -> int:
    from ziggurat.tune.records import merge

    if not logs or output is None:
        raise ZigguratError("ziggurat tune merge takes logs and -o OUT.jsonl")
    written = merge(logs, output)
    print(f"wrote {output} ({written} best records)")
    return 0


def add_tune_commands(commands: Any) -> None:
    tune = commands.add_parser("tune", help="tune a model's kernels; show or merge tuning logs")
    tune.add_argument("items", nargs="+", metavar="MODEL | show LOG | merge LOG...")
    tune.add_argument("-o", "--output", help="the merged log (with merge)")
    tune.add_argument("--tuner", default="xgb", help="xgb, ga, random or grid")
    tune.add_argument("--trials", type=int, default=200, help="trials per kernel at most")
    tune.add_argument("--early-stopping", type=int, default=None)
    tune.add_argument("--log", default="tune.jsonl", help="the log to append to and resume from")
    tune.add_argument("--time", help="bound on the whole run: 90s, 20m, 2h")
    tune.add_argument("--number", type=int, default=20)
    tune.add_argument("--repeat", type=int, default=3)
    tune.add_argument("--min-repeat-ms", type=float, default=150.0)
    tune.add_argument("--shape", action="append", default=[], metavar="NAME=D0,D1,...")
    tune.add_argument("--target", help=f"target string (default {NATIVE!r})")
    tune.add_argument("--opt-level", type=int, default=3, choices=range(4))
    tune.set_defaults(handler=cmd_tune)
