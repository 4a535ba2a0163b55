"""ONNX If, Loop and Scan: imported as graph.if/graph.loop/graph.scan, compiled into the one
native entry, checked against onnxruntime; folding of known conditions; errors naming the node."""

import copy

import numpy as np
import onnx
import pytest
from control_flow_models import (
    if_inside_loop,
    if_on_input_size,
    if_on_runtime_bool,
    loop_slicing_its_iteration,
    loop_with_early_exit,
    loop_with_outer_values,
    random,
    scan_reverse_on_axis_1,
)
from models import onnxruntime_outputs

import ziggurat
from ziggurat.core.errors import ModelImportError, UnsupportedOpError
from ziggurat.core.pipelines import to_target_pipeline
from ziggurat.core.reference import run_reference
from ziggurat.frontend.onnx.dynamic import DynamicModel
from ziggurat.runtime import GraphModule, load_module
from ziggurat.runtime.errors import PlanError, RunError
from ziggurat.runtime.memory import validate_storage

RNG = np.random.default_rng(11)


def build(model: onnx.ModelProto, opt_level: int = 3) -> GraphModule:
    module, params = ziggurat.from_onnx(model)
    return GraphModule(ziggurat.build(module, params=params, opt_level=opt_level))


def check(runner: GraphModule, model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> None:
    runner.run(**feeds)
    for n, want in enumerate(onnxruntime_outputs(model, feeds)):
        np.testing.assert_allclose(runner.get_output(n), want, rtol=1e-4, atol=1e-4)


def graph_ops(model: onnx.ModelProto) -> list[str]:
    module, _ = ziggurat.from_onnx(model)
    return [op.name for op in module.walk() if op.dialect_name() == "graph"]


@pytest.mark.parametrize("opt_level", [0, 3])
def test_if_on_a_runtime_boolean_takes_each_branch(opt_level: int) -> None:
    model = if_on_runtime_bool()
    assert "graph.if" in graph_ops(model)
    runner = build(model, opt_level)
    a, y = random(RNG, 4), random(RNG, 4)
    for cond in (True, False):
        check(runner, model, {"a": a, "y": y, "c": np.array(cond)})
    runner.run(a=a, y=y, c=np.array(True))
    expected = 1 / (1 + np.exp(-(np.maximum(a, 0) + y) * y))
    np.testing.assert_allclose(runner.get_output(0), expected, rtol=1e-5)


def test_an_if_on_an_input_size_folds_and_fuses_across() -> None:
    model = if_on_input_size()
    assert "graph.if" not in graph_ops(model)
    module, params = ziggurat.from_onnx(model)
    runner = GraphModule(ziggurat.build(module, params=params, opt_level=3))
    kernels = runner.lib.plan["launches"]
    assert len(kernels) == 1, [k["kernel"] for k in kernels]
    check(runner, model, {"x": random(RNG, 2, 3)})


def test_a_loop_ends_early_and_its_scan_output_has_the_rows_it_ran() -> None:
    model = loop_with_early_exit()
    runner = build(model)
    for x, rows in (([1, 2, 0.5], 3), ([0.1, 0.1, 0.1], 6)):
        feeds = {"x": np.array(x, np.float32), "s0": np.zeros(3, np.float32)}
        check(runner, model, feeds)
        assert runner.get_output(1).shape == (rows, 3)
        assert runner.lib.run(feeds)[1].shape == (rows, 3)
    assert list(runner.lib.output_names) == ["s", "rows"]


def test_a_loop_reads_outer_values_and_carries_two() -> None:
    model = loop_with_outer_values()
    runner = build(model)
    feeds = {"a0": random(RNG, 2, 3), "b0": random(RNG, 3), "w0": random(RNG, 3, 3)}
    for trips in (0, 1, 4):
        check(runner, model, {**feeds, "M": np.array(trips, np.int64)})


def test_a_reverse_scan_on_axis_1() -> None:
    model = scan_reverse_on_axis_1()
    assert "graph.scan" in graph_ops(model)
    check(build(model), model, {"s0": random(RNG, 2), "x": random(RNG, 2, 5)})


def test_an_if_inside_a_loop() -> None:
    model = if_inside_loop()
    ops = graph_ops(model)
    assert ops.index("graph.loop") < ops.index("graph.if")
    check(build(model, opt_level=2), model, {"x": random(RNG, 3), "s0": random(RNG, 3)})


def test_a_model_with_control_flow_exports_and_runs_from_its_package(tmp_path) -> None:
    model = loop_with_early_exit()
    module, params = ziggurat.from_onnx(model)
    lib = ziggurat.build(module, params=params)
    assert lib.plan["control_flow"] and lib.plan["rows"]
    loaded = GraphModule(load_module(lib.export_library(tmp_path / "loop.zgt")))
    check(loaded, model, {"x": np.array([1, 2, 0.5], np.float32), "s0": random(RNG, 3)})


def test_per_kernel_dispatch_is_refused_with_control_flow() -> None:
    module, params = ziggurat.from_onnx(if_on_runtime_bool())
    lib = ziggurat.build(module, params=params)
    with pytest.raises(RunError, match="control flow"):
        GraphModule(lib, use_entry=False)


def test_the_branches_share_arena_bytes() -> None:
    """Buffers used only in one branch are live only there: the plan overlays them."""
    module, params = ziggurat.from_onnx(if_on_runtime_bool())
    plan = ziggurat.build(module, params=params, opt_level=0).plan
    placed = [b for b in plan["buffers"] if "offset" in b]
    total = sum(-(-np.prod(b["shape"], dtype=int) * 4 // 64) * 64 for b in placed)
    assert plan["arena_bytes"] < total


def test_a_branch_shape_mismatch_names_the_node() -> None:
    with pytest.raises(ModelImportError, match=r"'choose' \(If\).*then_branch gives"):
        ziggurat.from_onnx(if_on_runtime_bool(else_shape=(2, 2)))


def test_a_folded_if_may_have_branches_of_other_shapes() -> None:
    model = if_on_input_size(else_shape=(3, 2))
    check(build(model), model, {"x": random(RNG, 2, 3)})


def test_a_body_with_the_wrong_inputs_names_the_node() -> None:
    with pytest.raises(ModelImportError, match=r"'loop' \(Loop\).*body has 3 inputs"):
        ziggurat.from_onnx(loop_with_outer_values(body_inputs=3))


def _runtime_trip_count(model: onnx.ModelProto) -> onnx.ModelProto:
    """`model`'s Loop with its trip count M a graph input."""
    del model.graph.initializer[:]
    model.graph.input.append(onnx.helper.make_tensor_value_info("M", onnx.TensorProto.INT64, []))
    return model


def test_a_runtime_trip_count_with_scan_outputs_compiles_a_variant_per_count() -> None:
    model = _runtime_trip_count(loop_with_early_exit())
    module, params = ziggurat.from_onnx(model)
    assert isinstance(module, DynamicModel) and module.shape_inputs == ("M",)
    runner = GraphModule(ziggurat.build(module, params=params))
    for count, x, rows in ((6, 1.0, 4), (6, 0.1, 6), (2, 0.1, 2), (9, 0.1, 9), (0, 1.0, 0)):
        feeds = {"x": np.full(3, x, np.float32), "s0": np.zeros(3, np.float32)}
        check(runner, model, {**feeds, "M": np.array(count, np.int64)})
        assert runner.get_output(1).shape == (rows, 3)


def test_scan_outputs_need_a_trip_count_known_at_build_time() -> None:
    """An inner Loop whose M is the outer Loop's iteration number: its scan outputs would
    change shape from one outer iteration to the next."""
    inner = loop_with_early_exit().graph
    helper = onnx.helper
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["c_in"], ["c_out"]),
            helper.make_node(
                "Loop",
                ["j", "", "s_in"],
                ["s_out", "rows"],
                body=inner.node[0].attribute[0].g,
                name="inner",
            ),
        ],
        "outer_body",
        [
            helper.make_tensor_value_info("j", onnx.TensorProto.INT64, []),
            helper.make_tensor_value_info("c_in", onnx.TensorProto.BOOL, []),
            helper.make_tensor_value_info("s_in", onnx.TensorProto.FLOAT, [3]),
        ],
        [
            helper.make_tensor_value_info("c_out", onnx.TensorProto.BOOL, []),
            helper.make_tensor_value_info("s_out", onnx.TensorProto.FLOAT, [3]),
        ],
    )
    model = loop_with_early_exit()
    model.graph.node[0].attribute[0].g.CopyFrom(body)
    del model.graph.output[1]
    del model.graph.node[0].output[1]
    with pytest.raises(UnsupportedOpError, match="Loop.*'inner'.*only known at run time"):
        ziggurat.from_onnx(model)


def test_scan_outputs_without_a_trip_count_are_refused() -> None:
    model = loop_with_early_exit()
    model.graph.node[0].input[0] = ""
    del model.graph.initializer[:]
    with pytest.raises(UnsupportedOpError, match="Loop.*'loop'.*need a trip count M.*has none"):
        ziggurat.from_onnx(model)


def test_a_slice_at_the_iteration_number_in_a_loop_body() -> None:
    model = loop_slicing_its_iteration()
    runner = build(model)
    for y in (np.zeros(2, np.float32), random(RNG, 2)):
        check(runner, model, {"y": y})
    body = model.graph.node[0].attribute[0].g
    body.node[1].input[1] = "start"
    with pytest.raises(UnsupportedOpError, match="Slice.*ends are not the starts plus"):
        ziggurat.from_onnx(model)


def test_the_pipeline_lowers_scans_first() -> None:
    assert "graph-scan-to-loop,convert-graph-to-te" in to_target_pipeline(0)


@pytest.mark.parametrize(
    "make",
    [
        if_on_runtime_bool,
        loop_with_early_exit,
        loop_slicing_its_iteration,
        loop_with_outer_values,
        scan_reverse_on_axis_1,
        if_inside_loop,
    ],
)
def test_the_numpy_reference_runs_control_flow(make) -> None:
    model = make()
    module, params = ziggurat.from_onnx(model)
    feeds = {
        v.name: (
            np.array(3, np.int64)
            if v.type.tensor_type.elem_type == onnx.TensorProto.INT64
            else np.array(True)
            if v.type.tensor_type.elem_type == onnx.TensorProto.BOOL
            else random(RNG, *(d.dim_value for d in v.type.tensor_type.shape.dim))
        )
        for v in model.graph.input
    }
    expected = onnxruntime_outputs(model, feeds)
    for got, want in zip(run_reference(module, params, feeds), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cond", [True, False])
def test_a_loop_on_constants(cond: bool) -> None:
    """A constant first condition (false: no iteration, no rows) and a constant initial value."""
    model = loop_with_early_exit()
    loop = model.graph.node[0]
    loop.input[1], loop.input[2] = "first", "start"
    model.graph.initializer.extend(
        [
            onnx.helper.make_tensor("first", onnx.TensorProto.BOOL, [], [cond]),
            onnx.helper.make_tensor("start", onnx.TensorProto.FLOAT, [3], [0.5, 0.0, -1.0]),
        ]
    )
    runner = build(model)
    check(runner, model, {"x": np.array([1, 2, 0.5], np.float32), "s0": random(RNG, 3)})
    assert runner.get_output(1).shape == ((3, 3) if cond else (0, 3))


def test_the_runtime_checks_a_loops_buffers_stay_apart() -> None:
    """A loaded plan whose offsets overlap two buffers of one loop is refused, though their
    launches alone would not overlap in text order."""
    module, params = ziggurat.from_onnx(loop_with_outer_values())
    plan = copy.deepcopy(ziggurat.build(module, params=params, opt_level=0).plan)
    first, last = plan["loops"][0]
    used: dict[int, int] = {}
    for position, launch in enumerate(plan["launches"][first : last + 1]):
        for index in launch["args"]:
            used.setdefault(index, position)
    inside = [n for n in used if plan["buffers"][n]["kind"] == "intermediate"]
    early, late = min(inside, key=used.get), max(inside, key=used.get)
    validate_storage(plan)
    plan["buffers"][late]["offset"] = plan["buffers"][early]["offset"]
    with pytest.raises(PlanError, match="share arena bytes"):
        validate_storage(plan)


def test_a_loop_on_constants_only_is_compiled() -> None:
    """A Loop whose inputs are all constants is compiled like any (onnx's evaluator is not
    run on subgraphs)."""
    model = loop_with_early_exit()
    model.graph.node[0].input[2] = "start"
    model.graph.initializer.append(
        onnx.helper.make_tensor("start", onnx.TensorProto.FLOAT, [3], [0.5, 0.0, -1.0])
    )
    body = model.graph.node[0].attribute[0].g
    body.node[0].input[1] = "s_in"
    del model.graph.input[:]
    assert "graph.loop" in graph_ops(model)
    check(build(model), model, {})
