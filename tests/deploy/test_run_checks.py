"""Checks the compiled code makes: an integer division by zero fails the run with an error that
names the node, in the JIT, through a loaded `.zgt`, from many threads and from the shell; the
check is no output of the model's and costs nothing where the divisor is a constant."""

import threading
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import ziggurat
from ziggurat.runtime import GraphModule, RunError, load_module

DIVIDEND = np.array([[7, -7, 9], [0, -(2**31), 5]], np.int32)
DIVISOR = np.array([[2, 3, -4], [1, -1, 5]], np.int32)


def _model(constant_divisor: bool = False) -> onnx.ModelProto:
    a = helper.make_tensor_value_info("a", TensorProto.INT32, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.INT32, [2, 3])
    inputs, initializers = [a], []
    if constant_divisor:
        initializers.append(onnx.numpy_helper.from_array(DIVISOR, "b"))
    else:
        inputs.append(helper.make_tensor_value_info("b", TensorProto.INT32, [2, 3]))
    nodes = [
        helper.make_node("Div", ["a", "b"], ["q"], name="quotient"),
        helper.make_node("Mod", ["q", "b"], ["y"], name="remainder", fmod=1),
    ]
    graph_proto = helper.make_graph(nodes, "g", inputs, [y], initializer=initializers)
    return helper.make_model(graph_proto, opset_imports=[helper.make_opsetid("", 17)])


def _expected(divisor: np.ndarray) -> np.ndarray:
    quotient = np.trunc(DIVIDEND.astype(np.float64) / divisor).astype(np.int64)
    quotient = np.where(quotient > np.iinfo(np.int32).max, -(2**31), quotient).astype(np.int32)
    return np.fmod(quotient, divisor)


@pytest.fixture(scope="module", params=[0, 3])
def lib(request: pytest.FixtureRequest) -> ziggurat.runtime.Module:
    module, params = ziggurat.from_onnx(_model())
    return ziggurat.build(module, params=params, opt_level=request.param)


def test_a_zero_divisor_fails_the_run_naming_the_node(lib) -> None:
    assert lib.output_names == ["y"] and len(lib.plan["checks"]) == 2
    np.testing.assert_array_equal(lib.run({"a": DIVIDEND, "b": DIVISOR})[0], _expected(DIVISOR))
    zero = DIVISOR.copy()
    zero[1, 2] = 0
    with pytest.raises(RunError, match=r"integer division by zero in node 'quotient' \(Div\)"):
        lib.run({"a": DIVIDEND, "b": zero})
    np.testing.assert_array_equal(lib.run({"a": DIVIDEND, "b": DIVISOR})[0], _expected(DIVISOR))
    runner = GraphModule(lib)
    with pytest.raises(RunError, match=r"node 'remainder' \(Mod\)"):
        runner.run(a=DIVIDEND, b=zero)


def test_a_constant_divisor_without_zeros_is_not_checked() -> None:
    module, params = ziggurat.from_onnx(_model(constant_divisor=True))
    lib = ziggurat.build(module, params=params)
    assert lib.plan["checks"] == []
    np.testing.assert_array_equal(lib.run({"a": DIVIDEND})[0], _expected(DIVISOR))


def test_checks_travel_in_the_package_and_stay_per_call(lib, tmp_path: Path) -> None:
    loaded = load_module(lib.export_library(tmp_path / "div.zgt"))
    zero = np.zeros_like(DIVISOR)
    failures: list[str] = []

    def call(seed: int) -> None:
        for n in range(30):
            divisor = zero if (n + seed) % 3 == 0 else DIVISOR
            try:
                got = loaded.run({"a": DIVIDEND, "b": divisor})[0]
                if divisor is zero or not np.array_equal(got, _expected(DIVISOR)):
                    failures.append(f"thread {seed} call {n}: wrong answer or no error")
            except RunError:
                if divisor is not zero:
                    failures.append(f"thread {seed} call {n}: an error without a zero")

    workers = [threading.Thread(target=call, args=(seed,)) for seed in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert failures == []


def test_the_shell_says_it_in_one_line(tmp_path: Path, capsys) -> None:
    from ziggurat.cli import main

    onnx.save(_model(), tmp_path / "div.onnx")
    np.save(tmp_path / "a.npy", DIVIDEND)
    np.save(tmp_path / "b.npy", np.zeros_like(DIVISOR))
    args = ["run", str(tmp_path / "div.onnx"), "--input", f"a={tmp_path / 'a.npy'}"]
    assert main([*args, "--input", f"b={tmp_path / 'b.npy'}"]) == 1
    error = capsys.readouterr().err
    assert "Traceback" not in error and len(error.strip().splitlines()) == 1
    assert "integer division by zero in node 'quotient' (Div)" in error
