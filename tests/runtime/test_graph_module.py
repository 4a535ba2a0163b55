"""The runtime on its own: plans, buffers, inputs, errors, benchmark, and no compiler import."""

import subprocess
import sys

import numpy as np
import pytest
from models import mlp_model, random_inputs

import ziggurat
from ziggurat.runtime import GraphModule, Module, PlanError, RuntimeInputError
from ziggurat.runtime.graph_executor import aligned_empty


@pytest.fixture(scope="module")
def lib() -> Module:
    module, params = ziggurat.from_onnx(mlp_model(2, sizes=(16, 8, 4)))
    return ziggurat.build(module, params=params)


def test_buffers_are_aligned_and_reused(lib: Module) -> None:
    runner = GraphModule(lib)
    before = dict(runner.buffer_addresses())
    assert all(address % 64 == 0 for address in before.values())
    for seed in range(3):
        runner.run(**random_inputs({"input": (2, 16)}, seed))
    assert runner.buffer_addresses() == before


def test_outputs_are_copies(lib: Module) -> None:
    runner = GraphModule(lib)
    runner.run(**random_inputs({"input": (2, 16)}))
    first = runner.get_output(0)
    runner.run(**random_inputs({"input": (2, 16)}, seed=1))
    assert not np.array_equal(first, runner.get_output(0))


def test_inputs_by_name_position_and_keyword(lib: Module) -> None:
    x = random_inputs({"input": (2, 16)})["input"]
    results = []
    for setter in (
        lambda r: r.set_input("input", x),
        lambda r: r.set_input(0, x),
        lambda r: r.set_input(input=x),
    ):
        runner = GraphModule(lib)
        setter(runner)
        np.testing.assert_array_equal(runner.get_input(0), x)
        runner.run()
        results.append(runner.get_output(0))
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_array_equal(results[0], results[2])


def test_float64_input_is_converted(lib: Module) -> None:
    runner = GraphModule(lib)
    runner.set_input("input", np.ones((2, 16)))
    assert runner.get_input("input").dtype == np.float32


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("nope", np.zeros((2, 16), np.float32), "no input 'nope'; its inputs are 'input'"),
        ("input", np.zeros((3, 16), np.float32), r"shape \[3, 16\], expected \[2, 16\]"),
        ("input", np.zeros((2, 16), np.int64), "dtype int64, expected float32"),
        (5, np.zeros((2, 16), np.float32), "input index 5 is out of range"),
    ],
)
def test_bad_inputs(lib: Module, key, value, message: str) -> None:
    with pytest.raises(RuntimeInputError, match=message):
        GraphModule(lib).set_input(key, value)


def test_bad_plans(lib: Module) -> None:
    plan = dict(lib.plan)
    with pytest.raises(PlanError, match="missing from the params"):
        Module(plan, {}, lib.get_function)
    with pytest.raises(PlanError, match="version"):
        Module({**plan, "version": 99}, lib.params, lib.get_function)
    broken = {**plan, "launches": [{"kernel": "k", "args": [999]}]}
    with pytest.raises(PlanError, match="unknown buffer 999"):
        Module(broken, lib.params, lib.get_function)
    wrong = {name: value[..., :1] for name, value in lib.params.items()}
    with pytest.raises(PlanError, match="but the plan expects"):
        Module(plan, wrong, lib.get_function)


def test_benchmark_reports_statistics(lib: Module) -> None:
    runner = GraphModule(lib)
    result = runner.benchmark(repeat=20, number=2, **random_inputs({"input": (2, 16)}))
    assert len(result.results) == 20
    assert 0 < result.min <= result.median <= result.max
    assert result.std >= 0
    text = str(result)
    assert "Execution time summary" in text and "median (ms)" in text


def test_aligned_empty() -> None:
    for shape in [(3,), (5, 7), (), (0, 4)]:
        array = aligned_empty(shape, np.float32)
        assert array.shape == shape and array.flags.c_contiguous
        assert array.size == 0 or array.ctypes.data % 64 == 0


def test_runtime_imports_no_compiler() -> None:
    code = (
        "import sys, ziggurat.runtime\n"
        "bad = [m for m in ('xdsl', 'llvmlite', 'onnx') if m in sys.modules]\n"
        "print(bad)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
