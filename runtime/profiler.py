"""Per-launch timings, like TVM's debug executor: each kernel launch timed on its own, with
its share of the total and its GFLOP/s from the flop count the compiler put in the plan."""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class LaunchProfile:
    """One launch: its position in the plan, kernel, output shape, mean seconds, flops."""

    index: int
    kernel: str
    shape: tuple[int, ...]
    seconds: float
    flops: int

    @property
    def gflops_per_second(self) -> float:
        return self.flops / self.seconds / 1e9 if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class ProfileReport:
    """Launches in plan order; `str()` is the table `ziggurat bench --profile` prints."""

    launches: tuple[LaunchProfile, ...]
    repeat: int

    @property
    def total_seconds(self) -> float:
        return sum(launch.seconds for launch in self.launches)

    @property
    def total_flops(self) -> int:
        return sum(launch.flops for launch in self.launches)

    def share(self, launch: LaunchProfile) -> float:
        total = self.total_seconds
        return launch.seconds / total if total > 0 else 0.0

    def __str__(self) -> str:
        width = max([len("Total"), *(len(launch.kernel) for launch in self.launches)])
        header = (
            f"{'#':>4}  {'Name':<{width}}  {'Shape':<20}  {'Time (us)':>11}  {'Percent':>7}  "
            f"{'GFLOP/s':>8}"
        )
        lines = [header, "-" * len(header)]
        for launch in self.launches:
            shape = str(list(launch.shape))
            lines.append(
                f"{launch.index:>4}  {launch.kernel:<{width}}  {shape:<20}  "
                f"{launch.seconds * 1e6:>11.2f}  {self.share(launch):>7.1%}  "
                f"{launch.gflops_per_second:>8.2f}"
            )
        total = self.total_seconds
        rate = self.total_flops / total / 1e9 if total > 0 else 0.0
        lines.append("-" * len(header))
        lines.append(
            f"{'':>4}  {'Total':<{width}}  {'':<20}  {total * 1e6:>11.2f}  {1:>7.1%}  {rate:>8.2f}"
        )
        lines.append(f"mean of {self.repeat} runs; {len(self.launches)} launches")
        return "\n".join(lines)


@dataclass(frozen=True)
class TimedLaunch:
    """What the profiler needs of one launch: how to call it and what to label it with."""

    kernel: str
    call: Callable[[], object]
    shape: tuple[int, ...]
    flops: int


def profile_launches(launches: Sequence[TimedLaunch], repeat: int, warmup: int) -> ProfileReport:
    """Runs the launches in order `warmup` times untimed, then `repeat` times timing each."""
    if repeat < 1 or warmup < 0:
        raise ValueError(
            f"repeat must be at least 1 and warmup not negative, got {repeat}, {warmup}"
        )
    for _ in range(warmup):
        for launch in launches:
            launch.call()
    totals = [0.0] * len(launches)
    clock = time.perf_counter
    for _ in range(repeat):
        for position, launch in enumerate(launches):
            start = clock()
            launch.call()
            totals[position] += clock() - start
    profiles = tuple(
        LaunchProfile(n, launch.kernel, launch.shape, totals[n] / repeat, launch.flops)
        for n, launch in enumerate(launches)
    )
    return ProfileReport(profiles, repeat)
