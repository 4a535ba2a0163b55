"""GraphModule on real kernels: numerics on both dispatch paths, buffer reuse, param binding,
inputs and outputs, and every input error."""

from collections.abc import Callable

import numpy as np
import pytest

from ziggurat.runtime import GraphModule, Module, PlanError, RuntimeInputError
from ziggurat.runtime.graph_executor import aligned_empty

Arrays = dict[str, np.ndarray]


@pytest.mark.parametrize("use_entry", [None, True, False])
def test_outputs_match_numpy(
    lib: Module, inputs: Arrays, expected: tuple[np.ndarray, np.ndarray], use_entry: bool | None
) -> None:
    runner = GraphModule(lib, use_entry=use_entry)
    assert runner.uses_entry is (use_entry is not False)
    runner.run(**inputs)
    np.testing.assert_array_equal(runner.get_output(0), expected[0])
    np.testing.assert_array_equal(runner.get_output("sum"), expected[1])


def test_entry_and_kernels_agree(lib: Module) -> None:
    by_entry, by_kernels = GraphModule(lib), GraphModule(lib, use_entry=False)
    rng = np.random.default_rng(1)
    for _ in range(3):
        inputs = {name: rng.standard_normal((2, 8)).astype(np.float32) for name in ("x", "y")}
        by_entry.run(**inputs)
        by_kernels.run(**inputs)
        for index in range(2):
            np.testing.assert_array_equal(by_entry.get_output(index), by_kernels.get_output(index))


def test_each_function_is_resolved_once_and_only_when_needed(lib: Module, symbols) -> None:
    GraphModule(lib)
    assert symbols.lookups == ["__ziggurat_main"]
    GraphModule(lib, use_entry=False)
    GraphModule(lib, use_entry=False)
    GraphModule(lib)
    assert sorted(symbols.lookups) == ["__ziggurat_main", "add", "relu"]


def test_plan_without_entry_runs_kernels(
    make_lib: Callable[..., Module], inputs: Arrays, expected: tuple[np.ndarray, np.ndarray]
) -> None:
    lib = make_lib(entry=None)
    runner = GraphModule(lib)
    assert not runner.uses_entry
    runner.run(**inputs)
    np.testing.assert_array_equal(runner.get_output(1), expected[1])
    with pytest.raises(PlanError, match="use_entry=True but the plan has no entry"):
        GraphModule(lib, use_entry=True)


@pytest.mark.parametrize("use_entry", [True, False])
def test_buffers_are_aligned_and_reused(lib: Module, params: Arrays, use_entry: bool) -> None:
    (bias,) = params.values()
    runner = GraphModule(lib, use_entry=use_entry)
    before = runner.buffer_addresses()
    assert all(address % 64 == 0 for address in before)
    rng = np.random.default_rng(2)
    for _ in range(3):
        x, y = (rng.standard_normal((2, 8)).astype(np.float32) for _ in range(2))
        runner.run(x=x, y=y)
        np.testing.assert_allclose(runner.get_output(1), np.maximum(x + bias, 0) + y)
    assert runner.buffer_addresses() == before


def test_params_are_aligned_read_only_and_shared(lib: Module) -> None:
    first, second = GraphModule(lib), GraphModule(lib)
    assert first.buffer_addresses()[1] == second.buffer_addresses()[1]
    assert first.buffer_addresses()[0] != second.buffer_addresses()[0]
    (bias,) = lib.bound_params().values()
    assert bias.ctypes.data % 64 == 0 and bias.flags.c_contiguous
    assert not bias.flags.writeable


def test_strided_param_is_copied_contiguous(
    engine, symbols, plan, params: Arrays, inputs: Arrays
) -> None:
    (name,) = params
    strided = np.asfortranarray(params[name])
    lib = Module(plan, {name: strided}, symbols, keepalive=engine)
    runner = GraphModule(lib)
    runner.run(**inputs)
    np.testing.assert_array_equal(runner.get_output(0), np.maximum(inputs["x"] + strided, 0))


def test_inputs_by_name_position_and_keyword(lib: Module, inputs: Arrays) -> None:
    x = inputs["x"]
    setters = [
        lambda r: r.set_input("x", x),
        lambda r: r.set_input(0, x),
        lambda r: r.set_input(np.int64(0), x),
        lambda r: r.set_input(x=x),
        lambda r: r.set_input("y", inputs["y"], x=x),
    ]
    for setter in setters:
        runner = GraphModule(lib)
        setter(runner)
        np.testing.assert_array_equal(runner.get_input("x"), x)
        np.testing.assert_array_equal(runner.get_input(0), x)
    assert runner.input_names == ["x", "y"] and runner.get_num_inputs() == 2
    assert runner.output_names == ["relu", "sum"] and runner.get_num_outputs() == 2


def test_outputs_and_inputs_are_copies(lib: Module, inputs: Arrays) -> None:
    runner = GraphModule(lib)
    runner.run(**inputs)
    output = runner.get_output(0)
    output[...] = 42
    runner.get_input("x")[...] = 42
    assert not np.any(runner.get_output(0) == 42)
    np.testing.assert_array_equal(runner.get_input("x"), inputs["x"])
    out = np.empty((2, 8), np.float32)
    assert runner.get_output("relu", out=out) is out
    np.testing.assert_array_equal(out, runner.get_output(0))


def test_float64_input_is_converted(lib: Module, inputs: Arrays) -> None:
    runner = GraphModule(lib)
    runner.set_input("x", inputs["x"].astype(np.float64))
    assert runner.get_input("x").dtype == np.float32
    np.testing.assert_array_equal(runner.get_input("x"), inputs["x"])


@pytest.fixture
def integer_runner() -> GraphModule:
    """A kernel-free model with integer inputs, for dtype conversions."""
    buffers = [
        {"name": "ids", "kind": "input", "shape": [3], "dtype": "int64"},
        {"name": "mask", "kind": "input", "shape": [3], "dtype": "int32"},
        {"name": "out", "kind": "output", "shape": [3], "dtype": "float32"},
    ]
    plan = {"version": 1, "buffers": buffers, "inputs": [0, 1], "outputs": [2], "launches": []}
    return GraphModule(Module(plan, {}, lambda name: 0))


def test_integer_inputs_widen_but_never_narrow(integer_runner: GraphModule) -> None:
    integer_runner.set_input("ids", np.array([1, 2, 3], np.int32))
    assert integer_runner.get_input("ids").dtype == np.int64
    for value in (np.array([1, 2, 3], np.int64), np.array([1.0, 2.0, 3.0]), np.ones(3, bool)):
        with pytest.raises(RuntimeInputError, match=f"expects dtype int32, got {value.dtype}"):
            integer_runner.set_input("mask", value)


X = np.zeros((2, 8), np.float32)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda r: r.set_input("z", X), "no input 'z'; its inputs are 'x', 'y'"),
        (lambda r: r.run(z=X), "no input 'z'; its inputs are 'x', 'y'"),
        (lambda r: r.set_input("x", X[:1]), r"input 'x' expects shape \[2, 8\], got \[1, 8\]"),
        (lambda r: r.set_input("x", X.T), r"expects shape \[2, 8\], got \[8, 2\]"),
        (lambda r: r.set_input("y", X.astype(np.int64)), "'y' expects dtype float32, got int64"),
        (lambda r: r.set_input("y", X.astype(np.complex64)), "got complex64"),
        (lambda r: r.set_input(5, X), "input index 5 is out of range: the model has 2 inputs"),
        (lambda r: r.set_input("x"), r"set_input\('x'\) needs a value"),
        (lambda r: r.set_input(value=X), "a value but no input name or index"),
        (lambda r: r.get_input("w"), "no input 'w'"),
        (lambda r: r.get_output(2), "output index 2 is out of range: the model has 2 outputs"),
        (lambda r: r.get_output("out"), "no output 'out'; its outputs are 'relu', 'sum'"),
        (lambda r: r.get_output(0, out=np.empty(3)), r"out is float64\[3\]"),
    ],
)
def test_bad_inputs_and_outputs(lib: Module, call, message: str) -> None:
    with pytest.raises(RuntimeInputError, match=message):
        call(GraphModule(lib))


def test_failed_set_input_changes_nothing(lib: Module, inputs: Arrays) -> None:
    runner = GraphModule(lib)
    with pytest.raises(RuntimeInputError, match="no input 'z'"):
        runner.set_input(x=inputs["x"], z=inputs["y"])
    np.testing.assert_array_equal(runner.get_input("x"), np.zeros((2, 8), np.float32))


def test_benchmark_runs_the_model(lib: Module, inputs: Arrays) -> None:
    runner = GraphModule(lib)
    result = runner.benchmark(repeat=20, number=3, warmup=2, **inputs)
    assert len(result.results) == 20 and result.number == 3
    assert 0 < result.min <= result.median <= result.max < 0.1
    assert result.min <= result.mean <= result.max and result.std >= 0
    assert "Execution time summary" in str(result)
    np.testing.assert_array_equal(runner.get_input("y"), inputs["y"])


@pytest.mark.parametrize("shape", [(3,), (5, 7), (), (0, 4), (2, 3, 5)])
@pytest.mark.parametrize("dtype", [np.float32, np.int8, np.float64])
def test_aligned_empty(shape: tuple[int, ...], dtype: type) -> None:
    array = aligned_empty(shape, dtype)
    assert array.shape == shape and array.dtype == dtype and array.flags.c_contiguous
    assert array.ctypes.data % 64 == 0 or array.size == 0
    assert aligned_empty(shape, dtype, align=256).ctypes.data % 256 == 0 or array.size == 0
