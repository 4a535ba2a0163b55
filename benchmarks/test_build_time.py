"""Build times: each model built cold (a new process, an empty code cache) and warm (another
new process, the cache filled), with the latency of what each build made, and onnxruntime's
session creation in a process of its own for scale. Each build runs in its own process, as a
user's `ziggurat run` does. `ZIGGURAT_COLD_BAR_S` / `ZIGGURAT_WARM_BAR_S` fail the run when
a model's cold / warm build takes longer than that many seconds."""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from benchmarks.models.densenet import densenet121
from benchmarks.models.inception import inception_v2
from benchmarks.test_models import MODELS

BUILD_MODELS = {
    **MODELS,
    "densenet121": (densenet121, {"input": (1, 3, 224, 224)}),
    "inception_v2": (inception_v2, {"input": (1, 3, 224, 224)}),
}
ROOT = Path(__file__).resolve().parent.parent

BUILD_AND_TIME = """
import json, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
from benchmarks.harness import median_seconds
from benchmarks.test_build_time import BUILD_MODELS
builder, shapes = BUILD_MODELS[sys.argv[2]]
model = builder()
import ziggurat
from ziggurat.runtime import GraphModule
started = time.perf_counter()
module, params = ziggurat.from_onnx(model)
lib = ziggurat.build(module, params=params)
seconds = time.perf_counter() - started
runner = GraphModule(lib)
rng = np.random.default_rng(0)
runner.set_input(**{k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()})
print(json.dumps({"build": seconds, "latency": median_seconds(runner.run, 30, 3),
                  "table": lib.build_timing.report()}))
"""

ORT_SESSION = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from benchmarks.test_build_time import BUILD_MODELS
data = BUILD_MODELS[sys.argv[2]][0]().SerializeToString()
import onnxruntime as ort
started = time.perf_counter()
ort.InferenceSession(data, providers=["CPUExecutionProvider"])
print(json.dumps({"build": time.perf_counter() - started}))
"""


def _in_process(script: str, name: str, cache: str) -> dict:
    env = {**os.environ, "ZIGGURAT_CACHE_DIR": cache}
    env.pop("ZIGGURAT_CACHE", None)
    result = subprocess.run(
        [sys.executable, "-c", script, str(ROOT), name],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", sorted(BUILD_MODELS))
def test_cold_and_warm_build(benchmark, report, name: str) -> None:
    with tempfile.TemporaryDirectory(prefix="ziggurat-bench-cache-") as cache:
        cold = _in_process(BUILD_AND_TIME, name, cache)
        warm = _in_process(BUILD_AND_TIME, name, cache)
    ort = _in_process(ORT_SESSION, name, "")
    print(f"\n{name}, cold build:\n{cold['table']}")
    benchmark.extra_info.update(
        {"cold_s": cold["build"], "warm_s": warm["build"], "onnxruntime_s": ort["build"]}
    )
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    report.append(
        f"{name}: cold {cold['build']:6.2f} s | warm {warm['build']:5.2f} s | onnxruntime "
        f"session {ort['build']:5.2f} s | latency cold-built {cold['latency'] * 1e3:7.2f} ms, "
        f"warm-built {warm['latency'] * 1e3:7.2f} ms"
    )
    for key, bar in (("build", "ZIGGURAT_COLD_BAR_S"), ("build", "ZIGGURAT_WARM_BAR_S")):
        limit = os.environ.get(bar)
        measured = (cold if bar == "ZIGGURAT_COLD_BAR_S" else warm)[key]
        if limit is not None:
            assert measured <= float(limit), f"{name}: {measured:.2f} s > {bar}={limit}"
