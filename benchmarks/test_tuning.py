"""Tuning with a fixed budget: per model, the default and the tuned latency measured in the
same run (interleaved, medians), the speedup, trials per minute and the tuning wall time.

    ZIGGURAT_TUNE_TRIALS=24 pytest benchmarks/test_tuning.py -s
"""

import os
import time

import numpy as np
import onnx
import pytest

import ziggurat
from benchmarks.harness import median_seconds
from benchmarks.test_kernels import matmul_model
from ziggurat import tune
from ziggurat.examples import mlp_model
from ziggurat.runtime import GraphModule

TRIALS = int(os.environ.get("ZIGGURAT_TUNE_TRIALS", "24"))
MODELS = {
    "matmul 1024^3": lambda: matmul_model(1024),
    "MLP batch 64": lambda: mlp_model(batch=64),
}


def _runner(lib: ziggurat.runtime.Module, inputs: dict[str, np.ndarray]) -> GraphModule:
    runner = GraphModule(lib)
    runner.set_input(**inputs)
    return runner


@pytest.mark.parametrize("name", list(MODELS))
def test_tuned_against_default(benchmark, report, tmp_path, name: str) -> None:
    model: onnx.ModelProto = MODELS[name]()
    module, params = ziggurat.from_onnx(model)
    log = tmp_path / "tune.jsonl"
    start = time.perf_counter()
    tasks = tune.extract_tasks(module, params=params)
    trials = 0
    option = tune.measure_option(runner=tune.LocalRunner(number=10, repeat=3, min_repeat_ms=50))
    with tune.LocalMeasurer(option) as measurer:
        for task in tasks:
            tuner = tune.GATuner(task, pop_size=8)
            tuner.tune(
                n_trial=min(TRIALS, len(task.space)),
                measurer=measurer,
                callbacks=[tune.callback.log_to_file(log)],
            )
            trials += tuner.trials
    wall = time.perf_counter() - start
    default = ziggurat.build(module, params=params)
    with tune.apply_history_best(log, quiet=True):
        tuned = ziggurat.build(module, params=params)
    rng = np.random.default_rng(0)
    inputs = {
        i.name: rng.standard_normal([d.dim_value for d in i.type.tensor_type.shape.dim]).astype(
            np.float32
        )
        for i in model.graph.input
    }
    runners = [_runner(default, inputs), _runner(tuned, inputs)]
    runners[0].run()
    runners[1].run()
    np.testing.assert_allclose(
        runners[1].get_output(0), runners[0].get_output(0), rtol=1e-3, atol=1e-3
    )
    times: list[list[float]] = [[], []]
    for _ in range(5):
        for n, runner in enumerate(runners):
            times[n].append(median_seconds(runner.run, repeat=20, warmup=3))
    base, best = (float(np.median(t)) for t in times)
    benchmark.pedantic(runners[1].run, rounds=3, iterations=1)
    report.append(
        f"tuning {name}: default {base * 1e3:.3f} ms, tuned {best * 1e3:.3f} ms "
        f"(speedup {base / best:.2f}x) | {len(tasks)} tasks, {trials} trials in {wall:.0f} s "
        f"({trials / wall * 60:.0f} trials/min)"
    )
