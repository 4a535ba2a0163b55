"""`ziggurat tune`: tune a model's kernels from the shell, and read tuning logs.

    ziggurat tune model.onnx --tuner xgb --trials 2000 --early-stopping 600 --log tune.jsonl
    ziggurat tune show tune.jsonl              # each kernel's best config and its schedule
    ziggurat tune merge a.jsonl b.jsonl -o best.jsonl

`--trials` is the budget of the whole model, shared among its kernels by `tune.tune_model`
(where a trial is expected to gain most; a kernel at its roofline gets no more). Tuning
appends to the log as it goes; run the same command again after an interruption and it
continues where it stopped. `--time 20m` bounds the whole run.

    ziggurat tune model.onnx --dask tcp://host:8786 ...   # measured on a Dask cluster
    ziggurat tune model.onnx --dask local ...             # a LocalCluster on this machine

With `--dask`, candidates are built and timed on the cluster's workers (`tune.dask_measure`);
the log stays on this machine and resumes the same way.
"""

import argparse
import logging
import re
from typing import TYPE_CHECKING, Any

from ziggurat.core.errors import ZigguratError

if TYPE_CHECKING:
    from ziggurat.tune.measure import MeasureOption

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
    from ziggurat.cli import _parse_shapes, static_import

    if args.tuner not in tune.TUNERS:
        raise ZigguratError(
            f"unknown tuner {args.tuner!r}; tuners are {', '.join(sorted(tune.TUNERS))}"
        )
    budget = _seconds(args.time) if args.time else None
    option = _measure_option(args)
    module, params = static_import(model, _parse_shapes(args.shape), "tune")
    result = tune.tune_model(
        module,
        params,
        target=args.target or NATIVE,
        n_trial=args.trials,
        log=args.log,
        tuner=args.tuner,
        early_stopping=args.early_stopping,
        measure_option=option,
        opt_level=args.opt_level,
        time_budget=budget,
        progress=not args.quiet,
        end_to_end=args.end_to_end,
    )
    print(result)
    return 0


def _measure_option(args: argparse.Namespace) -> "MeasureOption":
    from ziggurat import tune

    timing = {"number": args.number, "repeat": args.repeat, "min_repeat_ms": args.min_repeat_ms}
    if args.dask is None:
        return tune.measure_option(runner=tune.LocalRunner(**timing))
    from ziggurat.tune.dask_measure import require_distributed

    require_distributed()
    # Dask logs a lost scheduler or worker at length, from loggers it configured at import;
    # the run reports what matters in one line.
    for name, logger in logging.root.manager.loggerDict.items():
        if name.split(".")[0] == "distributed" and isinstance(logger, logging.Logger):
            logger.setLevel(logging.CRITICAL)
    return tune.measure_option(
        builder=tune.DaskBuilder(args.dask),
        runner=tune.DaskRunner(args.dask, local_workers=args.dask_workers, **timing),
    )


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
    from ziggurat.cli import add_plugin_option

    tune = commands.add_parser("tune", help="tune a model's kernels; show or merge tuning logs")
    tune.add_argument("items", nargs="+", metavar="MODEL | show LOG | merge LOG...")
    tune.add_argument("-o", "--output", help="the merged log (with merge)")
    tune.add_argument("--tuner", default="xgb", help="xgb, ga, random or grid")
    tune.add_argument("--trials", type=int, default=1000, help="trials for the whole model")
    tune.add_argument(
        "--early-stopping", type=int, default=None, help="retire a kernel after N trials, no gain"
    )
    tune.add_argument("--log", default="tune.jsonl", help="the log to append to and resume from")
    tune.add_argument("--time", help="bound on the whole run: 90s, 20m, 2h")
    tune.add_argument("--number", type=int, default=20)
    tune.add_argument("--repeat", type=int, default=3)
    tune.add_argument("--min-repeat-ms", type=float, default=150.0)
    tune.add_argument("--shape", action="append", default=[], metavar="NAME=D0,D1,...")
    tune.add_argument("--target", help=f"target string (default {NATIVE!r})")
    tune.add_argument("--opt-level", type=int, default=3, choices=range(4))
    tune.add_argument("--quiet", action="store_true", help="no progress bars")
    tune.add_argument(
        "--dask",
        metavar="tcp://HOST:8786 | local",
        help="build and time on a Dask cluster's workers ('local': a LocalCluster here)",
    )
    tune.add_argument(
        "--dask-workers", type=int, default=2, help="worker processes of --dask local"
    )
    add_plugin_option(tune)
    tune.add_argument(
        "--end-to-end",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="time the model built with its defaults and tuned (default: on)",
    )
    tune.set_defaults(handler=cmd_tune)
