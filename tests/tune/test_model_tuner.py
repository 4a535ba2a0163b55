"""tune_model: one budget over a model's tasks, the roofline stop, resume and transfer, on
a simulated measurer (deterministic and fast)."""

import json
import math

import pytest

from ziggurat import tune
from ziggurat.core.errors import ZigguratError
from ziggurat.examples import mlp_model
from ziggurat.frontend.onnx.importer import from_onnx
from ziggurat.tune.records import TargetInfo, configs_for_target, load_records
from ziggurat.tune.simulate import SIMULATED_FLOPS

TARGET = "llvm -mcpu=skylake-avx512"


class FixedRoofline(tune.Roofline):
    """A roofline whose bound is a task's FLOPs at `flops_per_second`, nothing measured."""

    def __init__(self, flops_per_second: float):
        super().__init__(flops_per_second, 1)

    def bound(self, flops: int, nbytes: int) -> float:
        return flops / self.peak_flops


NEVER_DONE = FixedRoofline(1e18)


@pytest.fixture(scope="module")
def mlp():
    return from_onnx(mlp_model(batch=8))


def _tune(mlp, log, n_trial, roofline=NEVER_DONE, **options):
    module, params = mlp
    measurer = tune.SimulatedMeasurer(noise=0.0, failing_share=0.0)
    result = tune.tune_model(
        module,
        params,
        TARGET,
        n_trial=n_trial,
        log=log,
        progress=False,
        end_to_end=False,
        measurer=measurer,
        roofline=roofline,
        **options,
    )
    return result, measurer


def _logged(log):
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_the_budget_is_shared_and_the_heaviest_task_gets_most(mlp, tmp_path):
    log = tmp_path / "tune.jsonl"
    result, measurer = _tune(mlp, log, n_trial=120, tuner="random")
    assert result.trials == 120
    assert len(measurer.measured) == len(_logged(log)) == 120 + result.confirmations
    assert result.confirmations == 6 * len(result.tasks)  # default and best, three times each
    trials = {t.name: t.trials for t in result.tasks}
    assert all(t.default_seconds < math.inf for t in result.tasks)  # every default measured
    heaviest, *_, lightest = sorted(result.tasks, key=lambda t: -t.weight * t.flops)
    assert trials[heaviest.name] > trials[lightest.name]
    assert result.kernel_gain >= 1.0
    assert "kernels" in str(result) and heaviest.name in str(result)


def test_a_task_at_its_roofline_stops(mlp, tmp_path):
    roofline = FixedRoofline(SIMULATED_FLOPS * 1.01)  # the simulated optimum is at 99% of it
    result, _ = _tune(mlp, tmp_path / "tune.jsonl", n_trial=2000, roofline=roofline, tuner="random")
    assert all(t.stopped == "roofline" for t in result.tasks)
    assert all(t.share_of_bound >= 0.95 for t in result.tasks)
    assert result.trials < 2000


def test_early_stopping_retires_a_task(mlp, tmp_path):
    result, _ = _tune(mlp, tmp_path / "tune.jsonl", n_trial=600, early_stopping=24, tuner="random")
    assert {t.stopped for t in result.tasks} == {"early stopping"}


def test_a_second_run_resumes_and_measures_nothing_twice(mlp, tmp_path):
    log = tmp_path / "tune.jsonl"
    first, _ = _tune(mlp, log, n_trial=40, tuner="ga")
    again, measurer = _tune(mlp, log, n_trial=40, tuner="ga")
    assert again.trials == 0 and not measurer.measured
    more, _ = _tune(mlp, log, n_trial=64, tuner="ga")
    assert more.trials == 24
    lines = _logged(log)
    measured = {(line["workload"]["key"], json.dumps(line["config"])) for line in lines}
    assert len(measured) == 64, "no trial repeated; only the confirming timings come again"
    assert len(lines) == 64 + first.confirmations + again.confirmations + more.confirmations
    assert again.confirmations == 0
    assert {t.name: t.best_seconds for t in more.tasks}.keys() == {t.name for t in first.tasks}


def test_an_xgb_tuner_learns_from_another_kernels_measurements(mlp):
    """The simulated optimum sits at the same knobs in every task, so what one kernel's
    measurements teach ranks another's configs: after 16 trials of its own, the second
    layer's tuner with the first layer's 64 measurements to learn from is nearer its
    optimum than without them (summed over three seeds)."""
    first, second = tune.extract_tasks(mlp[0], TARGET, mlp[1])[:2]
    with_transfer = without = 0.0
    for seed in range(3):
        measurer = tune.SimulatedMeasurer(noise=0.0, failing_share=0.0)
        teacher = tune.XGBTuner(first, seed=seed)
        teacher.tune(n_trial=64, measurer=measurer)
        learner = tune.XGBTuner(second, seed=seed)
        learner.transfer_from = [teacher]
        learner.tune(n_trial=16, measurer=measurer)
        alone = tune.XGBTuner(second, seed=seed)
        alone.tune(n_trial=16, measurer=measurer)
        optimum = min(measurer.cost(second, c) for c in second.space.points)
        with_transfer += learner.best_cost / optimum
        without += alone.best_cost / optimum
    assert with_transfer < without


def test_xgb_tuners_share_a_models_budget(mlp, tmp_path):
    result, measurer = _tune(mlp, tmp_path / "tune.jsonl", n_trial=48)
    assert result.trials == 48 and len(measurer.measured_by_task) == len(result.tasks)


def test_an_unknown_tuner_is_one_clear_error(mlp, tmp_path):
    with pytest.raises(ZigguratError, match="unknown tuner 'annealing'"):
        _tune(mlp, tmp_path / "tune.jsonl", n_trial=8, tuner="annealing")


def test_the_roofline_bound_is_the_slower_of_compute_and_memory():
    roofline = tune.Roofline(peak_flops=1e9, cores=1, bandwidths={1 << 14: 1e9, 1 << 20: 4e9})
    assert roofline.bound(2_000_000_000, 4096) == 2.0  # compute-bound
    assert roofline.bound(0, 4096) == 4096 / 1e9  # memory-bound, held to its size's bandwidth
    assert roofline.bound(0, 1 << 20) == (1 << 20) / 4e9


def test_the_measured_roofline_has_both_roofs():
    roofline = tune.Roofline.measure("llvm -mcpu=native")
    assert roofline.peak_flops > 0 and roofline.cores >= 1
    assert roofline.bandwidth(1 << 16) > 0 and set(roofline.bandwidths) == {1 << 16}


class FlatMeasurer(tune.SimulatedMeasurer):
    """Every config equally fast, but each task's first timing (its default's) three times
    too slow: a noisy moment of the host."""

    def __init__(self) -> None:
        super().__init__(noise=0.0, failing_share=0.0)

    def cost(self, task: tune.Task, config) -> float:
        slow = len(self.measured_by_task.get(task.key, [])) == 1 and config == task.default
        return 1e-4 * (3 if slow else 1)


def test_a_default_timed_in_a_noisy_moment_is_confirmed_and_kept(mlp, tmp_path):
    module, params = mlp
    log = tmp_path / "tune.jsonl"
    result = tune.tune_model(
        module,
        params,
        TARGET,
        n_trial=24,
        log=log,
        tuner="random",
        progress=False,
        end_to_end=False,
        measurer=FlatMeasurer(),
        roofline=NEVER_DONE,
    )
    tasks = tune.extract_tasks(module, TARGET, params)
    assert all(t.best_config == task.default for t, task in zip(result.tasks, tasks, strict=True))
    assert result.kernel_gain == 1.0
    configs, _ = configs_for_target(load_records(log), TargetInfo.of(tasks[0].target))
    assert configs == {task.key: task.default for task in tasks}
