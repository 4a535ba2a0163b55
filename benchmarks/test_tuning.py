"""Tuning with a fixed budget per model (`tune.tune_model`): the default and the tuned
latency measured in the same run (interleaved, medians), the speedup, trials per minute,
where a trial's time goes, and the tuning wall time.

    ZIGGURAT_TUNE_TRIALS=300 ZIGGURAT_TUNE_TIME=1200 pytest benchmarks/test_tuning.py -s
    ZIGGURAT_TUNE_MODELS="ResNet-18" ... (a comma-separated subset)

`ZIGGURAT_TUNE_BAR` (default 0.97) is the geometric-mean speedup below which the run fails:
a tuned build must not be slower than the default beyond the 2-3% by which two timings of
the same build differ here even in turns.
"""

import json
import math
import os
import statistics
import time

import numpy as np
import onnx
import pytest

import ziggurat
from benchmarks.harness import median_seconds
from benchmarks.models.bert import bert_encoder
from benchmarks.models.mobilenet import mobilenet_v2
from benchmarks.models.resnet import resnet18
from benchmarks.test_kernels import matmul_model
from ziggurat import tune
from ziggurat.examples import mlp_model
from ziggurat.runtime import GraphModule
from ziggurat.tune.candidate import build_candidate, task_spec

TRIALS = int(os.environ.get("ZIGGURAT_TUNE_TRIALS", "64"))
SECONDS = float(os.environ.get("ZIGGURAT_TUNE_TIME", "0")) or None
BAR = float(os.environ.get("ZIGGURAT_TUNE_BAR", "0.97"))
MODELS = {
    "matmul 1024^3": lambda: matmul_model(1024),
    "MLP batch 64": lambda: mlp_model(batch=64),
    "ResNet-18": resnet18,
    "MobileNetV2": mobilenet_v2,
    "encoder": bert_encoder,
}
CHOSEN = [m.strip() for m in os.environ.get("ZIGGURAT_TUNE_MODELS", ",".join(MODELS)).split(",")]
SPEEDUPS: dict[str, float] = {}


def _runner(lib: ziggurat.runtime.Module, inputs: dict[str, np.ndarray]) -> GraphModule:
    runner = GraphModule(lib)
    runner.set_input(**inputs)
    return runner


def _trial_time(log: str, task: tune.Task) -> str:
    """Median build and check-and-time seconds of the measured trials, and the phases of one
    build of the heaviest task's default (in this process)."""
    results = [json.loads(line)["result"] for line in open(log)]
    timed = [r for r in results if r["error_code"] == 0]
    if not timed:
        return "no trial measured"
    build = statistics.median(r["build_seconds"] for r in timed)
    run = statistics.median(r["run_seconds"] for r in timed)
    phases = build_candidate(task_spec(task), task.default).phases
    split = ", ".join(f"{name} {seconds:.2f}" for name, seconds in phases.items())
    return f"a trial: {build:.2f} s building ({split}), {run:.2f} s checking and timing"


@pytest.mark.parametrize("name", CHOSEN)
def test_tuned_against_default(benchmark, report, tmp_path, name: str) -> None:
    model: onnx.ModelProto = MODELS[name]()
    module, params = ziggurat.from_onnx(model)
    log = str(tmp_path / "tune.jsonl")
    start = time.perf_counter()
    result = tune.tune_model(
        module,
        params,
        n_trial=TRIALS,
        log=log,
        time_budget=SECONDS,
        measure_option=tune.measure_option(
            runner=tune.LocalRunner(number=10, repeat=3, min_repeat_ms=50)
        ),
        progress=False,
        end_to_end=False,
    )
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
    for _ in range(7):
        for n, runner in enumerate(runners):
            times[n].append(median_seconds(runner.run, repeat=20, warmup=3))
    base, best = (float(np.median(t)) for t in times)
    SPEEDUPS[name] = base / best
    benchmark.pedantic(runners[1].run, rounds=3, iterations=1)
    at_bound = sum(t.stopped == "roofline" for t in result.tasks)
    report.append(
        f"tuning {name}: default {base * 1e3:.3f} ms, tuned {best * 1e3:.3f} ms "
        f"(speedup {base / best:.2f}x, kernels alone {result.kernel_gain:.2f}x) | "
        f"{len(result.tasks)} tasks ({at_bound} stopped at their roofline), {result.trials} "
        f"trials in {wall:.0f} s ({result.trials / wall * 60:.0f} trials/min; "
        f"{_trial_time(log, tune.extract_tasks(module, params=params)[0])})"
    )
    if name == CHOSEN[-1] and len(SPEEDUPS) > 1:
        mean = math.exp(sum(math.log(s) for s in SPEEDUPS.values()) / len(SPEEDUPS))
        report.append(f"tuning geometric mean speedup: {mean:.2f}x over {len(SPEEDUPS)} models")
        assert mean >= BAR, f"geometric mean speedup {mean:.2f}x is below the bar {BAR}x"
