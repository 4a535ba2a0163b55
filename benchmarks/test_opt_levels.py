"""Each model at opt_level 0 and 3: same outputs, kernel counts and latency, measured in the
same run. `ZIGGURAT_OPT_BAR` (e.g. 1.4) fails the run when opt_level 3 is not that many times
faster than opt_level 0."""

import os

import numpy as np
import pytest

import ziggurat
from benchmarks.harness import median_seconds
from benchmarks.test_models import MODELS
from ziggurat.runtime import GraphModule


@pytest.mark.parametrize("name", sorted(MODELS))
def test_opt_level_3_against_0(benchmark, report, name: str) -> None:
    builder, shapes = MODELS[name]
    module, params = ziggurat.from_onnx(builder())
    rng = np.random.default_rng(0)
    inputs = {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}
    results = {}
    for level in (0, 3):
        lib = ziggurat.build(module, params=params, opt_level=level)
        runner = GraphModule(lib)
        runner.set_input(**inputs)
        seconds = median_seconds(runner.run, repeat=20, warmup=2)
        runner.run()
        results[level] = (seconds, len(lib.plan["launches"]), runner.get_output(0).copy(), runner)
    np.testing.assert_allclose(results[3][2], results[0][2], rtol=1e-3, atol=1e-4)
    speedup = results[0][0] / results[3][0]
    benchmark.extra_info.update(
        {f"opt{level}_ms": results[level][0] * 1e3 for level in results} | {"speedup": speedup}
    )
    benchmark.pedantic(results[3][3].run, rounds=3, iterations=1)
    report.append(
        f"{name}: opt_level 0 {results[0][0] * 1e3:7.2f} ms ({results[0][1]} launches) | "
        f"opt_level 3 {results[3][0] * 1e3:7.2f} ms ({results[3][1]} launches) | "
        f"speedup {speedup:.2f}"
    )
    bar = os.environ.get("ZIGGURAT_OPT_BAR")
    if bar is not None:
        assert speedup >= float(bar), f"opt_level 3 is {speedup:.2f}x opt_level 0 < {bar}"
