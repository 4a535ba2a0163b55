"""ziggurat.quantize on ResNet-18: int8 (calibrated QDQ, minmax) and bf16 against Ziggurat's
fp32 build of the same model, measured in one run: latency ratios and top-1 agreement with
fp32 over 200 seeded inputs (goals: int8 >= 2x and bf16 >= 1.6x faster, >= 99% agreement).
Each build is exported and timed in a process of its own, the two in turns (`TURNS`); the
medians of the turns are compared."""

import numpy as np
import pytest

import ziggurat
from benchmarks.engine_timer import medians_in_turns
from benchmarks.models.resnet import resnet18
from ziggurat.runtime import GraphModule

SHAPE = (1, 3, 224, 224)
CALIBRATION_SAMPLES = 16
AGREEMENT_INPUTS = 200
TURNS = 5


def _inputs(count: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(SHAPE).astype(np.float32) for _ in range(count)]


@pytest.fixture(scope="module")
def fp32():
    module, params = ziggurat.from_onnx(resnet18())
    return module, params, GraphModule(ziggurat.build(module, params=params, opt_level=3))


@pytest.mark.parametrize("scheme", ["int8", "bf16"])
def test_quantized_resnet18_against_fp32(benchmark, report, fp32, scheme: str, tmp_path) -> None:
    module, params, reference = fp32
    calibration = (
        [{"input": x} for x in _inputs(CALIBRATION_SAMPLES, seed=1)] if scheme == "int8" else []
    )
    qmod, qparams = ziggurat.quantize(module, params, calibration, scheme=scheme)
    runner = GraphModule(ziggurat.build(qmod, params=qparams, opt_level=3))
    same = 0
    for x in _inputs(AGREEMENT_INPUTS, seed=7):
        reference.run(input=x)
        runner.run(input=x)
        same += int(reference.get_output(0).argmax() == runner.get_output(0).argmax())
    x = _inputs(1, seed=3)[0]
    np.savez(tmp_path / "input.npz", input=x)
    runner.lib.export_library(tmp_path / f"{scheme}.zgt")
    reference.lib.export_library(tmp_path / "fp32.zgt")
    feeds = str(tmp_path / "input.npz")
    medians = medians_in_turns(
        {
            scheme: ["ziggurat", str(tmp_path / f"{scheme}.zgt"), feeds],
            "fp32": ["ziggurat", str(tmp_path / "fp32.zgt"), feeds],
        },
        TURNS,
    )
    ours, base = medians[scheme], medians["fp32"]
    agreement = same / AGREEMENT_INPUTS
    benchmark.extra_info.update(
        {f"{scheme}_ms": ours * 1e3, "fp32_ms": base * 1e3, "top1_agreement": agreement}
    )
    benchmark.pedantic(runner.run, rounds=3, iterations=1)
    report.append(
        f"resnet18 {scheme}: {ours * 1e3:8.2f} ms | fp32 {base * 1e3:8.2f} ms "
        f"(speedup {base / ours:.2f}x) | top-1 agreement {agreement:.1%} over {AGREEMENT_INPUTS}"
    )
