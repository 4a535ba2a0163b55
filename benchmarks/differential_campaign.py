"""Differential campaign: thousands of random graphs, compiled at opt_level 0 and 3 and compared
with onnxruntime (the strategies of tests/differential, not derandomized).

    python benchmarks/differential_campaign.py --graphs 2000 --seed 1 --save /tmp/mismatches

Prints the graphs tried, the cases run (one per graph and opt_level), the matches, the
mismatches and crashes by op type, and the builds refused with a ZigguratError (unsupported
combinations); saves each failing model as .onnx with its feeds as .npz in --save and exits
non-zero when anything mismatched or crashed. The model being tried is written to
--save/current.onnx first, so a graph that kills the process is left behind. Interrupted
(SIGINT or SIGTERM), it prints the counts so far.
"""

import argparse
import collections
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
from hypothesis import HealthCheck, given, seed, settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from differential.graphs import GraphCase  # noqa: E402
from differential.harness import OPT_LEVELS, Outcome, check  # noqa: E402
from differential.strategies import graphs  # noqa: E402

REWRITES_SHOWN = [
    "convs-to-winograd",
    "convs-converted",
    "ops-fused",
    "batch-norms-folded",
    "ops-merged",
]
"""The pass statistics counted per graph in the summary: how many graphs reached the rewrites
that opt_level 3 is tested for."""


def save(case: GraphCase, directory: Path, name: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    onnx.save(case.model, str(directory / f"{name}.onnx"))
    np.savez(directory / f"{name}.npz", **case.feeds)


def run(count: int, start_seed: int, directory: Path | None, outcomes: list[Outcome]) -> None:
    """Tries `count` graphs, appending each outcome to `outcomes` as it comes."""

    @seed(start_seed)
    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(graphs())
    def trial(case: GraphCase) -> None:
        if directory is not None:
            save(case, directory, "current")
        outcome = check(case)
        outcomes.append(outcome)
        if outcome.failed:
            print(outcome.report(), flush=True)
            if directory is not None:
                save(case, directory, f"failure-{len(outcomes):05d}")
        if len(outcomes) % 100 == 0:
            print(f"... {len(outcomes)} graphs", flush=True)

    trial()


def summarize(outcomes: list[Outcome], seconds: float) -> bool:
    """Prints the counts; True when nothing mismatched or crashed."""
    cases = len(outcomes) * len(OPT_LEVELS)
    mismatched = sum(len(o.mismatches) for o in outcomes)
    crashed = sum(len(o.crashes) for o in outcomes)
    refused = sum(len(o.refused) for o in outcomes)
    unchecked = [o for o in outcomes if o.unchecked is not None]
    cases -= len(unchecked) * len(OPT_LEVELS)
    matched = cases - mismatched - crashed - refused
    by_op: collections.Counter[str] = collections.Counter()
    for outcome in outcomes:
        if outcome.failed:
            by_op.update(set(outcome.case.op_types))
    refusals = collections.Counter(
        text.split(":")[0] for o in outcomes for text in o.refused.values()
    )
    print(f"graphs tried: {len(outcomes)} in {seconds:.0f} s")
    print(f"cases run:    {cases} (opt_level 0 and 3)")
    print(f"matches:      {matched}")
    print(f"mismatches:   {mismatched}")
    print(f"crashes:      {crashed}")
    print(f"refused with a ZigguratError: {refused} {dict(refusals)}")
    print(f"graphs onnxruntime could not run (not compared): {len(unchecked)}")
    rewritten = collections.Counter(name for o in outcomes for name in o.rewrites)
    print(
        "graphs rewritten by: " + ", ".join(f"{name} {rewritten[name]}" for name in REWRITES_SHOWN)
    )
    if by_op:
        print(
            "op types in failing graphs: " + ", ".join(f"{op} {n}" for op, n in by_op.most_common())
        )
    return not (mismatched or crashed)


CAMPAIGN_PROCESS = os.getpid()


def _interrupt(signum: int, frame: object) -> None:
    """Stops the campaign; in the build's forked worker processes (which the build ends with
    SIGTERM) the signal does what it would by default."""
    if os.getpid() != CAMPAIGN_PROCESS:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graphs", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", type=Path, default=None, help="folder for failing models")
    arguments = parser.parse_args()
    os.environ.setdefault("ZIGGURAT_CACHE_DIR", tempfile.mkdtemp(prefix="ziggurat-campaign-"))
    started = time.monotonic()
    for stop in (signal.SIGINT, signal.SIGTERM):  # also when started in the background
        signal.signal(stop, _interrupt)
    outcomes: list[Outcome] = []
    try:
        run(arguments.graphs, arguments.seed, arguments.save, outcomes)
    except KeyboardInterrupt:  # an interrupted campaign still reports what it tried
        print("interrupted", flush=True)
    return 0 if summarize(outcomes, time.monotonic() - started) else 1


if __name__ == "__main__":
    sys.exit(main())
