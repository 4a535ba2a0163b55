"""Tuners, early stopping, resume and apply_history_best, on a simulated measurer (fast and
deterministic) and on one real, isolated measurement of a small kernel."""

from collections import deque

import numpy as np
import pytest
from models import MATMUL_RELU
from xdsl.parser import Parser

import ziggurat
from ziggurat import tune
from ziggurat.core.context import make_context
from ziggurat.core.reference import run_reference
from ziggurat.runtime import GraphModule
from ziggurat.schedule.space import Config
from ziggurat.tune.measure import LocalMeasurer, LocalRunner, Measurement, measure_option
from ziggurat.tune.records import ErrorCode, load_records

TARGET = "llvm -mcpu=native"
QUICK = measure_option(runner=LocalRunner(number=3, repeat=3, timeout=5, min_repeat_ms=5))


def _module():
    return Parser(make_context(), MATMUL_RELU).parse_module()


@pytest.fixture(scope="module")
def task() -> tune.Task:
    (found,) = tune.extract_tasks(_module(), TARGET, {}, opt_level=3)
    return found


def test_extract_tasks_gives_the_matmul_with_its_space(task: tune.Task):
    assert task.weight == 1
    assert task.flops == 2 * 64 * 128 * 96 + 64 * 96  # the multiply-adds and the fused relu
    assert task.space.index_of(task.default) is not None
    assert [a.role for a in task.arguments] == ["input", "input", "output"]
    assert "tile_rows" in str(task)


@pytest.mark.parametrize(
    "tuner_class", [tune.RandomTuner, tune.GridSearchTuner, tune.GATuner, tune.XGBTuner]
)
def test_tuner_measures_the_default_first_and_never_twice(task: tune.Task, tuner_class):
    measurer = tune.SimulatedMeasurer()
    tuner = tuner_class(task)
    tuner.tune(n_trial=30, measurer=measurer)
    assert measurer.measured[0] == task.default
    assert len(measurer.measured) == len(set(measurer.measured)) == 30
    assert tuner.best_cost <= measurer.cost(task, task.default) * 1.1


def test_random_tuner_finds_the_simulated_optimum(task: tune.Task):
    measurer = tune.SimulatedMeasurer(noise=0.0, failing_share=0.0)
    tuner = tune.RandomTuner(task, seed=1)
    tuner.tune(n_trial=len(task.space), measurer=measurer)
    best = min(task.space.points, key=lambda c: measurer.cost(task, c))
    assert tuner.best_config == best


def test_ga_tuner_breeds_from_the_fastest_configs(task: tune.Task):
    measurer = tune.SimulatedMeasurer(noise=0.0, failing_share=0.0)
    tuner = tune.GATuner(task, pop_size=8, seed=2)
    tuner.tune(n_trial=24, measurer=measurer)
    best = min(measurer.cost(task, c) for c in task.space.points)
    first_generation = sorted(measurer.cost(task, c) for c in measurer.measured[:8])
    assert tuner.best_cost < first_generation[0] or tuner.best_cost == best
    assert len(set(measurer.measured)) == 24


@pytest.mark.parametrize("loss_type", ["rank", "reg"])
def test_xgb_tuner_finds_the_optimum_sooner_than_chance(task: tune.Task, loss_type: str):
    """The simulated cost is smooth in the knobs; after its random plan the model should
    steer to the best config within a quarter of the space, where a random walk would find
    it one time in four."""
    measurer = tune.SimulatedMeasurer(noise=0.0, failing_share=0.0)
    best = min(task.space.points, key=lambda c: measurer.cost(task, c))
    tuner = tune.XGBTuner(task, loss_type=loss_type, plan_size=8, seed=0)
    tuner.tune(n_trial=len(task.space) // 4, early_stopping=None, measurer=measurer)
    assert best in measurer.measured


def test_xgb_tuner_refuses_an_unknown_loss(task: tune.Task):
    with pytest.raises(ValueError, match="loss_type must be one of rank, reg"):
        tune.XGBTuner(task, loss_type="hinge")


def test_features_tell_tiles_apart(task: tune.Task):
    from ziggurat.tune.features import LENGTH, FeatureExtractor

    extract = FeatureExtractor(task)
    small = extract(Config.of({"column": 0, "tile_rows": 2, "tile_cols": 16}))
    large = extract(Config.of({"column": 0, "tile_rows": 8, "tile_cols": 32}))
    assert small is not None and large is not None
    assert small.shape == large.shape == (LENGTH,)
    assert not np.array_equal(small, large)
    assert extract(Config.of({"column": 9, "tile_rows": 2, "tile_cols": 16})) is None


def test_grid_search_walks_the_space_in_order(task: tune.Task):
    measurer = tune.SimulatedMeasurer(failing_share=0.0)
    tune.GridSearchTuner(task).tune(n_trial=6, measurer=measurer)
    rest = [c for c in task.space.points if c != task.default][:5]
    assert measurer.measured == [task.default, *rest]


def test_early_stopping_ends_after_that_many_trials_without_a_new_best(task: tune.Task):
    measurer = tune.SimulatedMeasurer(noise=0.0, failing_share=0.0)
    tuner = tune.GridSearchTuner(task)
    tuner.tune(n_trial=len(task.space), early_stopping=8, measurer=measurer)
    costs = [measurer.cost(task, c) for c in measurer.measured]
    last_new_best = costs.index(min(costs))
    trials_after = len(costs) - 1 - last_new_best
    assert 8 <= trials_after < 8 + tune.tuner.BATCH_SIZE  # the batch that reached 8 completes
    assert len(costs) < len(task.space)


class StreamingSimulation(tune.SimulatedMeasurer):
    """Measurements one at a time, each batch last first (as a cluster's come back in any
    order), from `slots` workers."""

    def __init__(self, slots: int):
        super().__init__(failing_share=0.0)
        self.workers = slots
        self.rounds: list[int] = []
        self.in_flight_at_submit: list[int] = []
        self.flights: deque[tuple[tune.Task, Measurement]] = deque()

    def slots(self) -> int:
        return self.workers

    def submit(self, task, configs):
        self.rounds.append(len(configs))
        self.in_flight_at_submit.append(self.in_flight())
        self.flights.extend((task, m) for m in reversed(self.measure(task, configs)))

    def in_flight(self) -> int:
        return len(self.flights)

    def next_done(self):
        return self.flights.popleft()


def test_a_streaming_measurers_results_are_logged_one_by_one_in_rounds_its_size(
    task: tune.Task, tmp_path
):
    log = tmp_path / "tune.jsonl"
    measurer = StreamingSimulation(slots=20)
    logged: list[int] = []

    def count(tuner, measurements):
        logged.append(len(measurements))

    tuner = tune.RandomTuner(task)
    tuner.tune(n_trial=50, measurer=measurer, callbacks=[tune.callback.log_to_file(log), count])
    assert measurer.rounds == [20, 20, 10]
    assert measurer.in_flight_at_submit == [0, 20, 20], "the next batch goes before one ends"
    assert logged == [1] * 50 and len(load_records(log)) == 50
    records = load_records(log)
    assert len({r.config for r in records}) == 50, "no config proposed while in flight"
    assert tuner.trials == 50 and tuner.best_cost == min(tuner.costs.values())


def test_a_resumed_run_measures_nothing_twice(task: tune.Task, tmp_path):
    log = tmp_path / "tune.jsonl"
    first = tune.SimulatedMeasurer()
    tune.RandomTuner(task, seed=3).tune(
        n_trial=16, measurer=first, callbacks=[tune.callback.log_to_file(log)]
    )
    assert len(load_records(log)) == 16
    second = tune.SimulatedMeasurer()
    resumed = tune.RandomTuner(task, seed=3)
    resumed.load_history(load_records(log))
    resumed.tune(n_trial=16, measurer=second, callbacks=[tune.callback.log_to_file(log)])
    assert not set(first.measured) & set(second.measured)
    assert len(load_records(log)) == 32


def test_faulty_candidates_give_their_error_codes_and_measuring_goes_on(task: tune.Task):
    tile = {"column": 0, "tile_rows": 4, "tile_cols": 16}
    configs = [
        Config.of({**tile, "__fault__": "__test_crash__"}),
        Config.of({**tile, "__fault__": "__test_hang__"}),
        Config.of({**tile, "__fault__": "__test_wrong__"}),
        Config.of({**tile, "column": 9}),
        Config.of(tile),
    ]
    option = measure_option(runner=LocalRunner(number=2, repeat=2, timeout=2, min_repeat_ms=1))
    with LocalMeasurer(option) as measurer:
        results = [m.result for m in measurer.measure(task, configs)]
    assert [r.error_code for r in results] == [
        ErrorCode.RUNTIME_ERROR,
        ErrorCode.RUN_TIMEOUT,
        ErrorCode.WRONG_ANSWER,
        ErrorCode.INSTANTIATION_ERROR,
        ErrorCode.NO_ERROR,
    ]
    assert len(results[-1].costs) == 2 and all(c > 0 for c in results[-1].costs)


def test_replaying_a_records_trace_reproduces_its_kernel(task: tune.Task, tmp_path):
    import hashlib

    from ziggurat.schedule.schedule import parse_trace
    from ziggurat.tune.candidate import (
        parse_task_module,
        random_feeds,
        scheduled_kernel_hash,
        task_kernel,
        task_spec,
    )

    log = tmp_path / "tune.jsonl"
    config = Config.of({"column": 0, "tile_rows": 4, "tile_cols": 32})
    with LocalMeasurer(QUICK) as measurer:
        measurements = measurer.measure(task, [config])
    tune.callback.log_to_file(log)(tune.RandomTuner(task), measurements)
    (record,) = load_records(log)
    assert record.workload.ir_hash == hashlib.sha256(task.kernel_ir.encode()).hexdigest()
    spec = task_spec(task)
    ctx, module = parse_task_module(spec, random_feeds(spec, 0)[1])
    schedule = parse_trace(record.trace).replay(task_kernel(module), ctx.params)
    schedule.bind_packs(module)
    assert record.kernel_hash and scheduled_kernel_hash(schedule.kernel) == record.kernel_hash


def test_tuned_build_applies_the_best_config_and_keeps_the_numbers(
    task: tune.Task, tmp_path, capsys
):
    log, best = tmp_path / "tune.jsonl", tmp_path / "best.jsonl"
    tuner = tune.RandomTuner(task)
    tuner.tune(n_trial=4, measure_option=QUICK, callbacks=[tune.callback.log_to_file(log)])
    assert tune.pick_best(log, best) == 1
    (record,) = load_records(best)
    if record.config != tuner.best_config:  # the fastest was within the margin of the default
        assert record.config == record.workload.default
    rng = np.random.default_rng(0)
    a = rng.standard_normal((64, 128)).astype(np.float32)
    b = rng.standard_normal((128, 96)).astype(np.float32)
    with tune.apply_history_best(best) as table:
        lib = ziggurat.build(_module(), target=TARGET)
    assert table.applied == {task.key}
    assert "1 of 1 kernels built with tuned configs" in capsys.readouterr().err
    runner = GraphModule(lib)
    runner.run(a=a, b=b)
    expected = run_reference(_module(), {}, {"a": a, "b": b})[0]
    np.testing.assert_allclose(runner.get_output(0), expected, rtol=1e-4, atol=1e-4)
