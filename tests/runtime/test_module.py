"""Module: plan validation, param checks, function lookup, and what it keeps."""

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from ziggurat.runtime import GraphModule, Module, PlanError

Plan = dict[str, Any]


def test_module_keeps_what_it_is_given(lib: Module, engine) -> None:
    assert lib.keepalive is engine
    assert lib.target == "llvm -mcpu=native"
    assert lib.input_names == ["x", "y"]
    assert lib.output_names == ["relu", "sum"]
    assert lib.kernel_names == ["add", "relu"]
    assert "inputs=['x', 'y']" in repr(lib)


def test_get_function_looks_up_once(lib: Module, symbols) -> None:
    address = lib.get_function("add")
    assert address and lib.get_function("add") == address
    assert symbols.lookups == ["add"]
    with pytest.raises(PlanError, match="the compiled code has no function 'nope'"):
        lib.get_function("nope")


def test_plan_is_copied(plan: Plan, params, symbols) -> None:
    lib = Module(plan, params, symbols)
    plan["buffers"][0]["shape"] = [99]
    plan["inputs"].append(2)
    assert lib.plan["buffers"][0]["shape"] == [2, 8] and lib.plan["inputs"] == [0, 4]


def test_plan_survives_json(
    plan: Plan, params, symbols, inputs, expected: tuple[np.ndarray, np.ndarray]
) -> None:
    runner = GraphModule(Module(json.loads(json.dumps(plan)), params, symbols))
    runner.run(**inputs)
    np.testing.assert_array_equal(runner.get_output(1), expected[1])


def _set(path: tuple, value: object) -> Callable[[Plan], None]:
    """A plan edit: sets plan[path[0]][path[1]]... to value."""

    def edit(plan: Plan) -> None:
        target: Any = plan
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


def _delete(path: tuple) -> Callable[[Plan], None]:
    def edit(plan: Plan) -> None:
        target: Any = plan
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return edit


@pytest.mark.parametrize(
    "edit, message",
    [
        (_set(("version",), 2), "plan version 2 is not 1"),
        (_delete(("version",)), "plan version None is not 1"),
        (_set(("buffers",), None), "plan has no buffers list"),
        (_set(("buffers", 2), "t0"), "buffer 2 is 't0', not a mapping"),
        (_delete(("buffers", 2, "name")), "buffer 2 has no name"),
        (_set(("buffers", 2, "kind"), "scratch"), r"buffer 2 \('t0'\) has kind 'scratch'; kinds"),
        (_set(("buffers", 2, "shape"), [2, -8]), "has shape .*non-negative ints"),
        (_set(("buffers", 2, "shape"), "2x8"), "has shape '2x8'"),
        (_set(("buffers", 2, "shape"), [2.0, 8]), r"has shape \[2.0, 8\]"),
        (_set(("buffers", 2, "dtype"), "float31"), "has dtype 'float31'; expected a numeric"),
        (_set(("buffers", 2, "dtype"), "object"), "has dtype 'object'"),
        (_delete(("buffers", 2, "dtype")), "has dtype None"),
        (_delete(("inputs",)), "plan has no inputs list"),
        (_set(("inputs",), [0, 9]), "plan inputs entry 9 is not a buffer index"),
        (_set(("inputs",), [0, 4, 2]), "buffer 't0' of kind 'intermediate', not 'input'"),
        (_set(("inputs",), [0, 4, 4]), r"list a buffer twice: \[0, 4, 4\]"),
        (_set(("inputs",), [0]), r"input buffers \[4\] are missing from the plan's inputs"),
        (_set(("outputs",), [3, 0]), "buffer 'x' of kind 'input', not 'output'"),
        (_set(("buffers", 4, "name"), "x"), r"plan inputs have duplicate names: \['x', 'x'\]"),
        (_delete(("launches",)), "plan has no launches list"),
        (_set(("launches", 1), {"args": [2, 3]}), "launch 1 .* names no kernel"),
        (_delete(("launches", 1, "args")), "launch 1 of 'relu' has no args list"),
        (_set(("launches", 1, "args"), [2, 999]), "launch 1 of 'relu' uses unknown buffer 999"),
        (_set(("launches", 1, "args"), [2, "3"]), "uses unknown buffer '3'"),
        (_set(("entry",), ""), "plan entry is ''; expected a function name or None"),
        (_set(("launches", 1, "flops"), -1), "launch 1 of 'relu' has flops -1"),
        (_set(("launches", 1, "flops"), 2.5), "has flops 2.5; expected a non-negative int"),
    ],
)
def test_bad_plans(plan: Plan, params, symbols, edit: Callable[[Plan], None], message) -> None:
    edit(plan)
    with pytest.raises(PlanError, match=message):
        Module(plan, params, symbols)


def test_plan_must_be_a_mapping(params, symbols) -> None:
    with pytest.raises(PlanError, match="the plan is a list, not a mapping"):
        Module([], params, symbols)  # type: ignore[arg-type]


def test_missing_param(plan: Plan, symbols) -> None:
    with pytest.raises(PlanError, match=r"param 'encoder/bias:0 \(fc.1\)' is missing"):
        Module(plan, {}, symbols)


@pytest.mark.parametrize(
    "value, message",
    [
        (np.zeros((2, 4), np.float32), r"is float32\[2, 4\] but the plan expects float32\[2, 8\]"),
        (np.zeros((2, 8), np.float64), r"is float64\[2, 8\] but the plan expects float32\[2, 8\]"),
        (np.zeros(16, np.float32), r"is float32\[16\] but the plan expects float32\[2, 8\]"),
    ],
)
def test_mismatched_param(plan: Plan, params, symbols, value: np.ndarray, message: str) -> None:
    (name,) = params
    with pytest.raises(PlanError, match=message):
        Module(plan, {name: value}, symbols)


def test_plan_error_is_a_value_error() -> None:
    assert issubclass(PlanError, ValueError)


def test_hand_made_module_cannot_export(lib: Module, tmp_path) -> None:
    with pytest.raises(PlanError, match="no machine code to export"):
        lib.export_library(tmp_path / "m.zgt")
    assert not list(tmp_path.iterdir())
