"""A long fuzzing campaign over every hostile-input target of tests/fuzz, with counts.

    python benchmarks/fuzz_campaign.py --examples 2000 --seed 7 --save fuzz-failures
    python benchmarks/fuzz_campaign.py --targets onnx,zgt --examples 500 --cli-every 25

Each target draws `--examples` cases from the same strategies the tests use (randomly, not
derandomized: another seed gives other cases), checks each in this process, and every
`--cli-every`-th case also through its CLI in a child process (signals, hangs, stray files).
The process's address space is capped (`--address-space`, default 8G), so an input that
allocates without bound is a counted MemoryError rather than the campaign killed. Prints, per
target: cases tried, accepted, refused cleanly, and failures, each distinct failure once; the
first input of each kind of failure is saved under `--save` with how it was made and its
trace. Exits 1 if any case failed.
"""

import argparse
import os
import resource
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed, settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fuzz.conftest import FUZZ_MEMORY_LIMIT  # noqa: E402
from fuzz.targets import CHECK_SECONDS, TARGETS, Target, cli_subprocess, time_limit  # noqa: E402

from ziggurat.runtime.limits import parse_bytes  # noqa: E402

os.environ.setdefault("ZIGGURAT_MEMORY_LIMIT", FUZZ_MEMORY_LIMIT)


@dataclass
class Tally:
    """What one target's campaign found."""

    counts: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    saved: int = 0


def _signature(err: BaseException) -> str:
    """A failure's kind: its type, where it was raised and its first line, without numbers
    that vary from case to case."""
    frames = traceback.extract_tb(err.__traceback__)
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
    first = (str(err).splitlines() or [""])[0][:160]
    return f"{type(err).__name__} at {where}: {first}"


def _save(folder: Path, name: str, number: int, case: object, err: BaseException) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"{name}-{number}"
    stem.with_suffix(".input").write_bytes(case.data)  # type: ignore[attr-defined]
    trace = "".join(traceback.format_exception(err))
    stem.with_suffix(".txt").write_text(f"{case!r}\n\n{trace}")


def run_target(
    target: Target, examples: int, campaign_seed: int, cli_every: int, save: Path | None
) -> Tally:
    tally = Tally()

    @seed(campaign_seed)
    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(target.strategy())
    def one(case: object) -> None:
        tally.counts["tried"] += 1
        with tempfile.TemporaryDirectory() as folder:
            try:
                with time_limit(CHECK_SECONDS):
                    outcome = target.check(case, Path(folder))  # type: ignore[arg-type]
                if cli_every and tally.counts["tried"] % cli_every == 0:
                    tally.counts["cli"] += 1
                    child = Path(folder) / "cli"
                    child.mkdir()
                    target.cli_check(case, child, cli_subprocess)  # type: ignore[arg-type]
            except Exception as err:
                tally.counts["failed"] += 1
                signature = _signature(err)
                if save is not None and signature not in tally.failures and tally.saved < 20:
                    tally.saved += 1
                    _save(save, target.name, tally.saved, case, err)
                tally.failures[signature] += 1
                return
        tally.counts[outcome] += 1

    one()
    return tally


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=1000, help="cases per target")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--targets", default=",".join(TARGETS), help="comma-separated")
    parser.add_argument("--cli-every", type=int, default=50, help="0: no CLI runs")
    parser.add_argument(
        "--save", type=Path, help="folder for the first input of each kind of failure"
    )
    parser.add_argument(
        "--address-space",
        default="8G",
        help="cap on this process's virtual memory, so an input that allocates without bound "
        "is a MemoryError counted as a failure, not the whole campaign killed (0: no cap)",
    )
    args = parser.parse_args()
    if args.address_space != "0":
        cap = parse_bytes(args.address_space)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    names = [name for name in args.targets.split(",") if name]
    unknown = sorted(set(names) - set(TARGETS))
    if unknown:
        parser.error(f"unknown targets {unknown}; there are {sorted(TARGETS)}")
    header = f"{'target':<12}{'tried':>8}{'accepted':>10}{'refused':>9}{'failed':>8}{'cli':>6}"
    rows, total = [header], Counter[str]()
    for name in names:
        started = time.perf_counter()
        tally = run_target(TARGETS[name], args.examples, args.seed, args.cli_every, args.save)
        counts = tally.counts
        rows.append(
            f"{name:<12}{counts['tried']:>8}{counts['accepted']:>10}{counts['refused']:>9}"
            f"{counts['failed']:>8}{counts['cli']:>6}   {time.perf_counter() - started:.0f} s"
        )
        for signature, count in tally.failures.most_common():
            rows.append(f"    {count} x {signature}")
        total += counts
        print("\n".join(rows[-1 - len(tally.failures) :]), flush=True)
    rows.append(
        f"{'all':<12}{total['tried']:>8}{total['accepted']:>10}{total['refused']:>9}"
        f"{total['failed']:>8}{total['cli']:>6}"
    )
    print("\n".join(rows))
    return 1 if total["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
