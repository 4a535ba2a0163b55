"""Tuners: propose configs of a task's space, measure them, keep the best (AutoTVM's loop).

    tuner = tune.RandomTuner(task)            # or GridSearchTuner(task), GATuner(task)
    tuner.load_history(tune.load_records("tune.jsonl"))   # resume: nothing measured twice
    tuner.tune(n_trial=200, early_stopping=50, measure_option=tune.measure_option(),
               callbacks=[tune.callback.log_to_file("tune.jsonl")])
    tuner.best_config, tuner.best_cost

The default config is always measured first (unless the history has it), so a tuned kernel is
never slower than the untuned one. Early stopping ends the run after that many trials with no
new best. Measurements come from a measurer (`LocalMeasurer`, isolated in a worker process, by
default); tests pass a `SimulatedMeasurer`.
"""

import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence

from ziggurat.schedule.space import Config
from ziggurat.tune.dask_measure import DaskMeasurer
from ziggurat.tune.measure import DaskRunner, LocalMeasurer, Measurement, MeasureOption
from ziggurat.tune.pipeline import Measurer, Pipeline, StreamingMeasurer
from ziggurat.tune.records import ErrorCode, MeasureRecord
from ziggurat.tune.tasks import Task

Callback = Callable[["Tuner", Sequence[Measurement]], None]
"""Called after each batch with the tuner and the batch's measurements."""

BATCH_SIZE = 8
"""Configs proposed and measured per round (callbacks see each round)."""


def batch_size(measurer: Measurer) -> int:
    """Configs per round: `BATCH_SIZE`, or more to keep every worker of a cluster busy."""
    if isinstance(measurer, StreamingMeasurer):
        return max(BATCH_SIZE, measurer.slots())
    return BATCH_SIZE


def trials_since_best(since: int, best: float, measurements: Sequence[Measurement]) -> int:
    """Trials without a new best after `measurements`, in their order, where `since` came
    before them and `best` was the best time."""
    for m in measurements:
        better = m.result.error_code == ErrorCode.NO_ERROR and m.result.median < best
        since = 0 if better else since + 1
        best = min(best, m.result.median)
    return since


def open_measurer(option: MeasureOption | None) -> LocalMeasurer | DaskMeasurer:
    """The measurer an option asks for: on a Dask cluster when its runner is a DaskRunner,
    else in a worker process on this machine. Close it when done."""
    if option is not None and isinstance(option.runner, DaskRunner):
        return DaskMeasurer(option)
    return LocalMeasurer(option)


class Tuner(ABC):
    """The loop every tuner shares; subclasses say which configs to try next."""

    def __init__(self, task: Task, seed: int = 0):
        self.task = task
        self.rng = random.Random(seed)
        self.visited: set[Config] = set()
        """Configs measured or in flight."""
        self.points = set(task.space.points)
        """The space's configs, for telling whether a proposed one is in it."""
        self.costs: dict[Config, float] = {}
        """Median seconds per run of each config measured without error."""
        self.best_config: Config | None = None
        self.best_cost = float("inf")
        self.trials = 0
        self.errors = 0

    @abstractmethod
    def next_batch(self, size: int) -> list[Config]:
        """Up to `size` configs not measured yet."""

    def update(self, measurements: Sequence[Measurement]) -> None:
        """Learns from measurements (the base class keeps the best)."""
        for m in measurements:
            self.visited.add(m.config)
            if m.result.error_code != ErrorCode.NO_ERROR:
                continue
            self.costs[m.config] = m.result.median
            if m.result.median < self.best_cost:
                self.best_cost, self.best_config = m.result.median, m.config

    def load_history(self, records: Iterable[MeasureRecord]) -> None:
        """Takes in earlier measurements of this task (same workload and target CPU): they are
        never measured again and count toward the best."""
        own = [
            Measurement(r.config, r.result, r.trace, r.kernel_hash)
            for r in records
            if r.workload.key == self.task.key and r.target.cpu == self.task.target.cpu.data
        ]
        self.update(own)

    def tune(
        self,
        n_trial: int,
        early_stopping: int | None = None,
        measure_option: MeasureOption | None = None,
        callbacks: Sequence[Callback] = (),
        measurer: Measurer | None = None,
    ) -> None:
        """Measures up to `n_trial` new configs (fewer when the space runs out), stopping early
        after `early_stopping` trials without a new best."""
        own_measurer = None
        if measurer is None:
            measurer = own_measurer = open_measurer(measure_option)
        try:
            self._tune(n_trial, early_stopping, callbacks, measurer)
        finally:
            if own_measurer is not None:
                own_measurer.close()

    def _tune(
        self,
        n_trial: int,
        early_stopping: int | None,
        callbacks: Sequence[Callback],
        measurer: Measurer,
    ) -> None:
        pipeline = Pipeline(measurer)
        since_best = planned = 0
        while True:
            while (
                pipeline.wants_more()
                and planned < n_trial
                and (early_stopping is None or since_best < early_stopping)
            ):
                batch = self.propose(min(batch_size(measurer), n_trial - planned))
                if not batch:
                    break
                pipeline.submit(self.task, batch)
                planned += len(batch)
            if not pipeline.in_flight():
                break
            _, measurements = pipeline.next()
            since_best = trials_since_best(since_best, self.best_cost, measurements)
            self.learn(measurements)
            for callback in callbacks:
                callback(self, measurements)

    def propose(self, size: int) -> list[Config]:
        """Up to `size` configs to measure next, the default first while it has not been;
        they count as visited from now on (measurements in flight are not proposed again)."""
        batch = self._with_default_first(size)
        self.visited.update(batch)
        return batch

    def learn(self, measurements: Sequence[Measurement]) -> None:
        """Takes in measurements of proposed configs."""
        self.update(measurements)
        self.trials += len(measurements)
        self.errors += sum(m.result.error_code != ErrorCode.NO_ERROR for m in measurements)

    def _with_default_first(self, size: int) -> list[Config]:
        if self.task.default not in self.visited:
            return [
                self.task.default,
                *self._unvisited(self.next_batch(size - 1), self.task.default),
            ]
        return self._unvisited(self.next_batch(size), None)

    def _unvisited(self, configs: list[Config], also_skip: Config | None) -> list[Config]:
        return [c for c in configs if c not in self.visited and c != also_skip]

    def random_unvisited(self, size: int) -> list[Config]:
        """Up to `size` configs drawn uniformly from those not measured yet."""
        left = [c for c in self.task.space.points if c not in self.visited]
        return self.rng.sample(left, min(size, len(left)))


class RandomTuner(Tuner):
    """Draws configs uniformly, without replacement."""

    def next_batch(self, size: int) -> list[Config]:
        return self.random_unvisited(size)


class GridSearchTuner(Tuner):
    """Walks the space in index order."""

    def next_batch(self, size: int) -> list[Config]:
        return [c for c in self.task.space.points if c not in self.visited][:size]


class GATuner(Tuner):
    """A genetic search (AutoTVM's GATuner): until `pop_size` configs are measured it draws
    at random; then each child takes its knobs from two parents drawn with probability
    proportional to their speed (single-point crossover over the knobs), each knob mutating
    to another of its values with `mutation_prob`. The `elite_num` fastest configs are always
    among the parents. Children outside the space, or measured already, are drawn again."""

    def __init__(
        self,
        task: Task,
        pop_size: int = 100,
        elite_num: int = 3,
        mutation_prob: float = 0.1,
        seed: int = 0,
    ):
        super().__init__(task, seed)
        self.pop_size, self.elite_num, self.mutation_prob = pop_size, elite_num, mutation_prob

    def next_batch(self, size: int) -> list[Config]:
        if len(self.costs) < min(self.pop_size, len(self.task.space) // 2):
            return self.random_unvisited(size)
        ranked = sorted(self.costs, key=self.costs.__getitem__)[: self.pop_size]
        weights = [1.0 / self.costs[c] for c in ranked]
        children: list[Config] = []
        for _ in range(size * 20):
            if len(children) == size:
                break
            first, second = self.rng.choices(ranked, weights=weights, k=2)
            child = self._mutate(self._crossover(first, second))
            if child in self.points and child not in self.visited and child not in children:
                children.append(child)
        if len(children) < size:
            left = [c for c in self.random_unvisited(size) if c not in children]
            children += left[: size - len(children)]
        return children

    def _crossover(self, first: Config, second: Config) -> Config:
        names = [k.name for k in self.task.space.knobs]
        cut = self.rng.randrange(len(names) + 1)
        return Config.of({n: (first if i < cut else second)[n] for i, n in enumerate(names)})

    def _mutate(self, config: Config) -> Config:
        values = dict(config)
        for knob in self.task.space.knobs:
            if len(knob.values) > 1 and self.rng.random() < self.mutation_prob:
                values[knob.name] = self.rng.choice(
                    [v for v in knob.values if v != values[knob.name]]
                )
        return Config.of(values)
