"""The foundation's promise: an ONNX MLP through every terrace to machine code, matching
onnxruntime, through the public API only."""

import numpy as np
import pytest
from models import mlp_model, onnxruntime_outputs, random_inputs

import ziggurat
from ziggurat.runtime import GraphModule


@pytest.mark.parametrize("batch", [1, 64])
def test_mlp_matches_onnxruntime(batch: int) -> None:
    model = mlp_model(batch)
    module, params = ziggurat.from_onnx(model)
    lib = ziggurat.build(module, target="llvm -mcpu=native", params=params, opt_level=3)
    runner = GraphModule(lib)
    inputs = random_inputs({"input": (batch, 784)})
    runner.set_input("input", inputs["input"])
    runner.run()
    (expected,) = onnxruntime_outputs(model, inputs)
    got = runner.get_output(0)
    assert got.shape == (batch, 10)
    assert np.max(np.abs(got - expected)) <= 1e-4


@pytest.mark.parametrize("opt_level", [0, 1, 2, 3])
def test_opt_levels_agree(opt_level: int) -> None:
    model = mlp_model(2, sizes=(32, 16, 8))
    module, params = ziggurat.from_onnx(model)
    runner = GraphModule(ziggurat.build(module, params=params, opt_level=opt_level))
    inputs = random_inputs({"input": (2, 32)})
    runner.run(**inputs)
    (expected,) = onnxruntime_outputs(model, inputs)
    np.testing.assert_allclose(runner.get_output(0), expected, rtol=1e-4, atol=1e-5)


def test_entry_and_per_kernel_dispatch_agree() -> None:
    model = mlp_model(3, sizes=(40, 24, 6))
    module, params = ziggurat.from_onnx(model)
    lib = ziggurat.build(module, params=params)
    inputs = random_inputs({"input": (3, 40)})
    outputs = []
    for use_entry in (True, False):
        runner = GraphModule(lib, use_entry=use_entry)
        runner.run(**inputs)
        outputs.append(runner.get_output(0))
    # Kernels inlined into the entry may be reassociated differently (fast-math reassoc).
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-6, atol=1e-7)


def test_build_leaves_the_module_unchanged() -> None:
    module, params = ziggurat.from_onnx(mlp_model(1, sizes=(8, 4)))
    before = str(module)
    ziggurat.build(module, params=params)
    assert str(module) == before


def test_generic_x86_target_runs_without_avx512() -> None:
    model = mlp_model(2, sizes=(64, 32, 8))
    module, params = ziggurat.from_onnx(model)
    runner = GraphModule(ziggurat.build(module, target="llvm -mcpu=x86-64", params=params))
    inputs = random_inputs({"input": (2, 64)})
    runner.run(**inputs)
    (expected,) = onnxruntime_outputs(model, inputs)
    np.testing.assert_allclose(runner.get_output(0), expected, rtol=1e-4, atol=1e-5)
