"""One tuning budget for a whole model: trials go where they pay (Ansor's task scheduler),
and a kernel stops once it is at the machine's roofline.

    result = tune.tune_model(mod, params, target="llvm -mcpu=native", n_trial=2000,
                             log="tune.jsonl")
    print(result)            # per task: weight, default and best time, % of its bound

Every task is measured first with its default config and a batch of others (a smaller
one when the budget cannot give each task a whole batch). Then, round by
round, the task with the largest expected gain gets the next batch: its weight (launches
per inference) times the time per trial it is expected to save, blended from the gain of
its last round and an optimistic estimate (its best time over its trials so far, capped by
how far it is from its roofline bound). A task leaves the schedule when its space is
exhausted, when it ran `early_stopping` trials with no new best, or when its best time is
within `ROOFLINE_STOP` of its bound (`roofline.Roofline`). Every measurement is appended to
`log`; run the same call again and it measures nothing twice, the trials already in the log
counting toward `n_trial`. XGB tuners learn from each other's measurements (transfer across
the model's kernels). At the end each task's default and best config are timed three times more, in
turns, and the best is kept only if it is 3% faster in those turns: on a host whose speed drifts, a
default timed in a slow moment must not make an equal config look faster. Those timings go
to the log too (where a config timed several times counts by its median); time for them is
kept back from `time_budget`.
"""

import math
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm
from xdsl.dialects.builtin import ModuleOp

from ziggurat.backend.compile import build
from ziggurat.core.errors import ZigguratError
from ziggurat.core.targets import as_target
from ziggurat.dialects.target import CpuTargetAttr
from ziggurat.runtime import GraphModule
from ziggurat.runtime.benchmark import measure
from ziggurat.schedule.dispatch import use_configs
from ziggurat.schedule.space import Config
from ziggurat.tune.callback import log_to_file
from ziggurat.tune.graph_tasks import extract_graph_tasks
from ziggurat.tune.measure import Measurement, MeasureOption
from ziggurat.tune.pipeline import Measurer, Pipeline
from ziggurat.tune.records import DEFAULT_MARGIN, ErrorCode, MeasureRecord, load_records
from ziggurat.tune.roofline import Roofline
from ziggurat.tune.tasks import Task, extract_tasks
from ziggurat.tune.tuner import (
    Callback,
    GATuner,
    GridSearchTuner,
    RandomTuner,
    Tuner,
    batch_size,
    open_measurer,
    trials_since_best,
)
from ziggurat.tune.xgb_tuner import XGBTuner

TUNERS: dict[str, type[Tuner]] = {
    "xgb": XGBTuner,
    "ga": GATuner,
    "random": RandomTuner,
    "grid": GridSearchTuner,
}
"""Tuners by the name `tune_model` and `ziggurat tune --tuner` take."""

ROOFLINE_STOP = 0.95
"""A task whose best time is at least this share of its roofline bound is done."""
CONFIRM_TURNS = 3
"""Extra timings of each task's default and best config at the end of a run."""
END_TO_END_TURNS = 5
"""Turns of timing the default and the tuned model, one after the other."""
BACKWARD_WEIGHT = 0.2
"""Weight of the last round's measured gain against the optimistic estimate (Ansor's α)."""


@dataclass
class TaskResult:
    name: str
    weight: int
    flops: int
    trials: int
    default_seconds: float
    best_seconds: float
    best_config: Config | None
    bound_seconds: float
    stopped: str
    """Why the task left the schedule: "roofline", "early stopping", "space", or "budget"."""

    @property
    def share_of_bound(self) -> float:
        return self.bound_seconds / self.best_seconds if self.best_seconds < math.inf else 0.0


@dataclass
class ModelTuningResult:
    tasks: list[TaskResult]
    trials: int
    """Trials measured by this call (the log may hold more from earlier runs)."""
    seconds: float
    confirmations: int = 0
    """Timings of defaults and best configs again at the end (logged too)."""
    default_latency: float | None = None
    """End-to-end seconds per inference with every kernel's default and with the best
    configs (both built in this process and timed in turns), when measured."""
    tuned_latency: float | None = None

    @property
    def kernel_gain(self) -> float:
        """Default over best kernel time, summed over launches (what the tasks alone say)."""
        timed = [t for t in self.tasks if t.default_seconds < math.inf]
        default = sum(t.weight * t.default_seconds for t in timed)
        best = sum(t.weight * min(t.best_seconds, t.default_seconds) for t in timed)
        return default / best if best > 0 else 1.0

    @property
    def configs(self) -> dict[str, Config]:
        return {t.name: t.best_config for t in self.tasks if t.best_config is not None}

    def __str__(self) -> str:
        rows = [
            f"{'task':<28} {'weight':>6} {'trials':>6} {'default us':>10} {'best us':>10} "
            f"{'GFLOP/s':>8} {'bound':>6}  stopped"
        ]
        for t in self.tasks:
            gflops = t.flops / t.best_seconds / 1e9 if t.best_seconds < math.inf else 0.0
            rows.append(
                f"{t.name:<28} {t.weight:>6} {t.trials:>6} {_us(t.default_seconds)} "
                f"{_us(t.best_seconds)} {gflops:8.1f} {_share(t)}  {t.stopped}"
            )
        rows.append(
            f"{self.trials} trials and {self.confirmations} confirming timings in "
            f"{self.seconds:.0f} s; kernels {self.kernel_gain:.2f}x faster than their defaults "
            "(weighted by launches)"
        )
        if self.default_latency is not None and self.tuned_latency is not None:
            rows.append(
                f"end to end: {self.default_latency * 1e3:.3f} ms default, "
                f"{self.tuned_latency * 1e3:.3f} ms tuned "
                f"({self.default_latency / self.tuned_latency:.2f}x)"
            )
        return "\n".join(rows)


def _share(task: TaskResult) -> str:
    """The share of its bound a task reached; "-" for a graph task, which has none (its
    Winograd choices do fewer multiplications than its FLOPs count)."""
    return f"{task.share_of_bound:6.0%}" if task.bound_seconds > 0 else f"{'-':>6}"


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:10.1f}" if seconds < math.inf else f"{'-':>10}"


@dataclass
class _TaskState:
    task: Task
    tuner: Tuner
    bound: float
    bar: tqdm | None
    rounds: list[tuple[int, float]] = field(default_factory=list[tuple[int, float]])
    """(trials, best seconds) after each round."""
    since_best: int = 0
    open_rounds: list[int] = field(default_factory=list[int])
    """Measurements still to come of each round in flight, oldest first."""
    stopped: str = ""
    confirmed: dict[Config, float] = field(default_factory=dict[Config, float])
    """Median timings of the default and the best config when timed again in turns."""

    @property
    def best(self) -> float:
        return self.tuner.best_cost

    def priority(self) -> float:
        """Weight times the seconds per trial the next round is expected to save."""
        trials = max(1, len(self.tuner.visited))
        headroom = max(0.0, self.best - self.bound)
        optimistic = min(self.best / trials, headroom)
        backward = 0.0
        if len(self.rounds) >= 2:
            (before_trials, before), (now_trials, now) = self.rounds[-2], self.rounds[-1]
            backward = max(0.0, before - now) / max(1, now_trials - before_trials)
        rate = BACKWARD_WEIGHT * backward + (1 - BACKWARD_WEIGHT) * optimistic
        return self.task.weight * rate


def tune_model(
    mod: ModuleOp,
    params: Mapping[str, np.ndarray] | None = None,
    target: str | CpuTargetAttr = "llvm -mcpu=native",
    n_trial: int = 1000,
    log: str | Path = "tune.jsonl",
    tuner: str = "xgb",
    early_stopping: int | None = None,
    measure_option: MeasureOption | None = None,
    opt_level: int = 3,
    time_budget: float | None = None,
    progress: bool = True,
    end_to_end: bool = True,
    measurer: Measurer | None = None,
    roofline: Roofline | None = None,
) -> ModelTuningResult:
    """Tunes the model's tasks within `n_trial` trials in all (and `time_budget` seconds,
    if given), appending to `log`; with `end_to_end`, builds and times the model with its
    defaults and with the best configs. `measurer` and `roofline` replace the isolated
    measurement and the measured roofline (tests pass simulated ones)."""
    start = time.monotonic()
    if tuner not in TUNERS:
        raise ZigguratError(f"unknown tuner {tuner!r}; tuners are {', '.join(sorted(TUNERS))}")
    cpu = as_target(target)
    graph_tasks = extract_graph_tasks(mod, cpu, params, opt_level)
    roofline = roofline or Roofline.measure(cpu)
    history = load_records(log) if Path(log).is_file() else []
    owned = None
    if measurer is None:
        measurer = owned = open_measurer(measure_option)
    callback = log_to_file(log)
    graph_states = [
        _TaskState(task, GridSearchTuner(task), 0.0, _bar(task, n, n_trial) if progress else None)
        for n, task in enumerate(graph_tasks)
    ]
    states: list[_TaskState] = []
    try:
        graph_trials, confirmations = _tune_graph_tasks(graph_states, history, measurer, callback)
        with use_configs(_chosen(graph_states)):
            tasks = extract_tasks(mod, cpu, params, opt_level)
        if not tasks and not graph_tasks:
            raise ZigguratError("the model has no kernel with knobs to tune")
        states = [
            _TaskState(
                task,
                TUNERS[tuner](task),
                roofline.bound(task.flops / task.product_rate, task.operand_bytes)
                + _copy_bound(task, roofline),
                _bar(task, len(graph_tasks) + n, n_trial) if progress else None,
            )
            for n, task in enumerate(tasks)
        ]
        xgb_tuners = [s.tuner for s in states if isinstance(s.tuner, XGBTuner)]
        for state in states:
            state.tuner.load_history(history)
            if isinstance(state.tuner, XGBTuner):
                state.tuner.transfer_from = [t for t in xgb_tuners if t is not state.tuner]
            state.rounds.append((len(state.tuner.visited), state.best))
        budget = n_trial - sum(len(s.tuner.visited) for s in [*graph_states, *states])
        deadline = start + time_budget if time_budget is not None else None
        measured = _search(
            states, budget, deadline, start, measurer, callback, roofline, early_stopping
        )
        confirmations += _confirm([s for s in states if s.tuner.trials], measurer, callback)
    finally:
        for state in [*graph_states, *states]:
            if state.bar is not None:
                state.bar.close()
        if owned is not None:
            owned.close()
    states = [*graph_states, *states]
    results = [_result(s) for s in states]
    trials = graph_trials + measured
    outcome = ModelTuningResult(results, trials, time.monotonic() - start, confirmations)
    if end_to_end:
        best = {
            state.task.key: result.best_config
            for state, result in zip(states, results, strict=True)
            if result.best_config is not None
        }
        outcome.default_latency, outcome.tuned_latency = _end_to_end(
            mod, params, cpu, opt_level, best
        )
    return outcome


def _chosen(states: Sequence[_TaskState]) -> dict[str, Config]:
    """The config each task keeps (its default unless another won by the margin)."""
    return {
        state.task.key: config
        for state in states
        if (config := _result(state).best_config) is not None
    }


def _tune_graph_tasks(
    states: Sequence[_TaskState],
    history: Sequence[MeasureRecord],
    measurer: Measurer,
    callback: Callback,
) -> tuple[int, int]:
    """Measures every choice of each graph task (a space of a few points), then its default
    and best again in turns. Returns the trials and the confirming timings it took."""
    measured = 0
    for state in states:
        state.tuner.load_history(history)
        before = state.tuner.trials
        callbacks = [callback, _show(state)] if state.bar is not None else [callback]
        state.tuner.tune(len(state.task.space), callbacks=callbacks, measurer=measurer)
        measured += state.tuner.trials - before
        state.stopped = "space"
    confirmations = _confirm([s for s in states if s.tuner.trials], measurer, callback)
    return measured, confirmations


def _search(
    states: Sequence[_TaskState],
    budget: int,
    deadline: float | None,
    start: float,
    measurer: Measurer,
    callback: Callback,
    roofline: Roofline,
    early_stopping: int | None,
) -> int:
    """Spends up to `budget` trials on the tasks, a batch at a time to the task that gains
    most, proposing the next batch while the last is still measured where the measurer
    takes several (`tune.pipeline`). Returns the trials measured."""
    pipeline = Pipeline(measurer)
    by_key = {state.task.key: state for state in states}
    pending = [s for s in states if s.task.default not in s.tuner.visited]
    planned = measured = 0
    while True:
        while (
            pipeline.wants_more()
            and budget - planned > 0
            and (deadline is None or time.monotonic() + _reserve(states, start) < deadline)
        ):
            for state in states:
                _check_stop(state, roofline, early_stopping)
            active = [s for s in states if not s.stopped]
            if not active:
                break
            size = min(batch_size(measurer), budget - planned)
            if pending:
                size = max(1, min(size, (budget - planned) // len(pending)))
            state = pending.pop(0) if pending else max(active, key=_TaskState.priority)
            if state.stopped:
                continue
            batch = state.tuner.propose(size)
            if not batch:
                state.stopped = "space"
                continue
            pipeline.submit(state.task, batch)
            state.open_rounds.append(len(batch))
            planned += len(batch)
        if not pipeline.in_flight():
            return measured
        task, measurements = pipeline.next()
        state = by_key[task.key]
        state.since_best = trials_since_best(state.since_best, state.best, measurements)
        state.tuner.learn(measurements)
        measured += len(measurements)
        callback(state.tuner, measurements)
        if state.bar is not None:
            _show(state)(state.tuner, measurements)
        state.open_rounds[0] -= len(measurements)
        if state.open_rounds[0] <= 0:
            state.open_rounds.pop(0)
            state.rounds.append((len(state.tuner.visited), state.best))


def _reserve(states: Sequence[_TaskState], start: float) -> float:
    """Seconds the confirmation round is expected to take (at this run's pace so far)."""
    trials = sum(s.tuner.trials for s in states)
    pace = (time.monotonic() - start) / trials if trials else 0.0
    return pace * 2 * CONFIRM_TURNS * sum(1 for s in states if s.tuner.trials)


def _confirm(states: Sequence[_TaskState], measurer: Measurer, callback: Callback) -> int:
    """Times each task's default and best config again, in turns, and keeps their timings
    of those turns: measured moments apart during the search, a default timed while the
    host was slow makes an equal config look faster; timed in turns, the two meet the same
    host. Every task's turns go to the measurer at once (a cluster measures them side by
    side). Returns how many timings it took (all logged)."""
    pipeline = Pipeline(measurer)
    timings: dict[str, dict[Config, list[float]]] = {}
    for state in states:
        task, best = state.task, state.tuner.best_config
        if best is None or best == task.default or task.default not in state.tuner.costs:
            continue
        timings[task.key] = {task.default: [], best: []}
        pipeline.submit(task, [task.default, best] * CONFIRM_TURNS)
    by_key = {state.task.key: state for state in states}
    count = 0
    while pipeline.in_flight():
        task, measurements = pipeline.next()
        callback(by_key[task.key].tuner, measurements)
        count += len(measurements)
        for m in measurements:
            if m.result.error_code == ErrorCode.NO_ERROR:
                timings[task.key][m.config].append(m.result.median)
    for key, timed in timings.items():
        if all(timed.values()):
            by_key[key].confirmed = {config: statistics.median(t) for config, t in timed.items()}
    return count


def _check_stop(state: _TaskState, roofline: Roofline, early_stopping: int | None) -> None:
    if state.stopped:
        return
    if len(state.tuner.visited) >= len(state.task.space):
        state.stopped = "space"
    elif early_stopping is not None and state.since_best >= early_stopping:
        state.stopped = "early stopping"
    elif state.best < math.inf and state.bound / state.best >= ROOFLINE_STOP:
        state.stopped = "roofline"


def _result(state: _TaskState) -> TaskResult:
    """The task's outcome: its default and best timings from the confirming turns when
    there were some, else from the search; the best kept only if it beats the default by
    `DEFAULT_MARGIN` (as `apply_history_best` decides from the log)."""
    task, tuner = state.task, state.tuner
    costs = state.confirmed or tuner.costs
    default = costs.get(task.default, math.inf)
    best = tuner.best_config
    if best is not None and costs[best] >= default * (1 - DEFAULT_MARGIN):
        best = task.default
    return TaskResult(
        task.name,
        task.weight,
        task.flops,
        len(tuner.visited),
        default,
        costs[best] if best is not None else math.inf,
        best,
        state.bound,
        state.stopped or "budget",
    )


def _copy_bound(task: Task, roofline: Roofline) -> float:
    """Seconds the copies around a task's kernel (`Task.module_text`) take at best."""
    return task.context_bytes / roofline.bandwidth(task.context_bytes)


def _bar(task: Task, n: int, n_trial: int) -> tqdm:
    return tqdm(
        total=min(len(task.space), n_trial),
        desc=f"[Task {n + 1:>2}] {task.name}",
        unit="trial",
        position=n,
        leave=True,
    )


def _show(state: _TaskState) -> Callback:
    def update(tuner: Tuner, measurements: Sequence[Measurement]) -> None:
        assert state.bar is not None
        if tuner.best_cost < math.inf:
            gflops = tuner.task.flops / tuner.best_cost / 1e9
            share = state.bound / tuner.best_cost
            state.bar.set_postfix_str(
                f"best {gflops:.1f} GFLOP/s, {share:.0%} of bound, {tuner.errors} errors"
            )
        state.bar.update(len(measurements))

    return update


def _end_to_end(
    mod: ModuleOp,
    params: Mapping[str, np.ndarray] | None,
    cpu: CpuTargetAttr,
    opt_level: int,
    configs: Mapping[str, Config],
) -> tuple[float, float]:
    """Median seconds per inference of the model built with its defaults and with `configs`,
    timed in turns (so a drift of the host's speed touches both alike), on random inputs."""
    runners = []
    for chosen in ({}, configs):
        with use_configs(chosen):
            lib = build(mod, target=cpu, params=dict(params or {}), opt_level=opt_level)
        runner = GraphModule(lib)
        rng = np.random.default_rng(0)
        for name in runner.input_names:
            buffer = runner.get_input(name)
            runner.set_input(name, rng.standard_normal(buffer.shape).astype(buffer.dtype))
        runners.append(runner)
    timings: list[list[float]] = [[], []]
    for _ in range(END_TO_END_TURNS):
        for n, runner in enumerate(runners):
            timings[n].append(measure(runner.run, repeat=5, min_repeat_ms=50).median)
    default, tuned = (statistics.median(t) for t in timings)
    return default, tuned
