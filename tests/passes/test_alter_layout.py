"""graph-alter-layout runs convolution chains in NCHW[x]c and keeps the numbers: the reference
executor before and after, and the blocked ops compiled through their te strategies."""

from collections import Counter

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import ziggurat
from benchmarks.models.builder import GraphBuilder
from benchmarks.models.mobilenet import mobilenet_v2
from benchmarks.models.resnet import resnet18
from ziggurat.core import statistics
from ziggurat.core.context import ir_text, make_context
from ziggurat.core.pass_manager import PassManager
from ziggurat.core.reference import run_reference, transform_layout
from ziggurat.core.targets import parse_target
from ziggurat.dialects.target import CPU_ATTR
from ziggurat.runtime import GraphModule

BEFORE = "graph-fold-constants,graph-simplify-inference"


def graph_ops(module) -> Counter[str]:
    return Counter(op.name for op in module.walk() if op.dialect_name() == "graph")


def relayout(model: onnx.ModelProto, spec: str = "graph-alter-layout"):
    """The imported model, and a copy after the inference folds and `spec`, with the
    params store and the statistics of `spec`."""
    module, params = ziggurat.from_onnx(model)
    ctx = make_context(params)
    blocked = module.clone()
    PassManager.parse(BEFORE).run(ctx, blocked)
    with statistics.collect() as counters:
        PassManager.parse(spec).run(ctx, blocked)
    return module, params, blocked, ctx.params, counters


def grouped_block() -> onnx.ModelProto:
    """A grouped conv, an average pool with ceil_mode and count_include_pad, a depthwise
    conv and a per-channel scale: the blocked ops' less common paths."""
    g = GraphBuilder(seed=8)
    grouped = g.node(
        "Conv",
        ["x", g.weight("g.weight", (8, 4, 3, 3), 0.3), g.weight("g.bias", (8,), 0.1)],
        "grouped",
        kernel_shape=[3, 3],
        pads=[1, 1, 1, 1],
        group=2,
    )
    pooled = g.node(
        "AveragePool",
        [g.node("Relu", [grouped], "relu")],
        "pool",
        kernel_shape=[3, 3],
        strides=[2, 2],
        pads=[1, 1, 1, 1],
        ceil_mode=1,
        count_include_pad=1,
    )
    depthwise = g.node(
        "Conv",
        [pooled, g.weight("d.weight", (8, 1, 3, 3), 0.3), g.weight("d.bias", (8,), 0.1)],
        "depthwise",
        kernel_shape=[3, 3],
        strides=[2, 2],
        pads=[1, 1, 1, 1],
        group=8,
    )
    scale = g.weight("scale", (1, 8, 1, 1), 1.0)
    g.nodes.append(helper.make_node("PRelu", [depthwise, scale], ["y"], name="/prelu"))
    graph = helper.make_graph(
        g.nodes,
        "grouped_block",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 7, 7])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        g.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def test_transform_layout_moves_each_element_where_the_layouts_say() -> None:
    x = np.arange(2 * 32 * 3 * 5, dtype=np.float32).reshape(2, 32, 3, 5)
    blocked = transform_layout(x, "NCHW", "NCHW8c")
    assert blocked.shape == (2, 4, 3, 5, 8)
    assert blocked[1, 2, 0, 4, 5] == x[1, 2 * 8 + 5, 0, 4]
    np.testing.assert_array_equal(transform_layout(blocked, "NCHW8c", "NCHW"), x)
    w = np.arange(16 * 8 * 3 * 3, dtype=np.float32).reshape(16, 8, 3, 3)
    packed = transform_layout(w, "OIHW", "OIHW4i8o")
    assert packed.shape == (2, 2, 3, 3, 4, 8)
    assert packed[1, 1, 2, 0, 3, 5] == w[1 * 8 + 5, 1 * 4 + 3, 2, 0]


@pytest.mark.parametrize(
    "builder, converted, left, transforms",
    [(resnet18, 20, 0, 2), (mobilenet_v2, 52, 0, 2)],
    ids=["resnet18", "mobilenet_v2"],
)
def test_cnn_chains_run_blocked_and_keep_the_numbers(
    builder, converted: int, left: int, transforms: int
) -> None:
    module, params, blocked, blocked_params, counters = relayout(builder(image=32))
    assert counters["convs-converted"] == converted
    assert counters["layout-transforms"] == transforms
    ops = graph_ops(blocked)
    assert (ops["graph.conv_nchwc"], ops["graph.conv"]) == (converted, left)
    assert ops["graph.layout_transform"] == transforms
    x = np.random.default_rng(9).standard_normal((1, 3, 32, 32)).astype(np.float32)
    np.testing.assert_allclose(
        run_reference(blocked, blocked_params, [x])[0],
        run_reference(module, params, [x])[0],
        rtol=1e-4,
        atol=1e-4,
    )


def test_blocked_resnet18_compiles_with_fused_blocked_kernels() -> None:
    module, params, blocked, blocked_params, _ = relayout(resnet18(image=32))
    ctx = make_context(blocked_params)
    fused = blocked.clone()
    PassManager.parse("graph-fuse-ops").run(ctx, fused)
    kinds = Counter(
        op.kind.data
        for op in fused.walk()
        if op.name == "graph.fused"  # pyright: ignore[reportAttributeAccessIssue]
    )
    assert kinds["conv_nchwc_relu"] >= 8
    assert kinds["conv_nchwc_add_relu"] == 8
    x = np.random.default_rng(10).standard_normal((1, 3, 32, 32)).astype(np.float32)
    runner = GraphModule(ziggurat.build(fused, params=ctx.params, opt_level=0))
    runner.run(input=x)
    np.testing.assert_allclose(
        runner.get_output(0), run_reference(module, params, [x])[0], rtol=1e-3, atol=1e-4
    )


def test_grouped_pooled_and_depthwise_ops_compile_blocked() -> None:
    module, params, blocked, blocked_params, counters = relayout(
        grouped_block(), "graph-alter-layout{block=4}"
    )
    assert counters["convs-converted"] == 2
    ops = graph_ops(blocked)
    assert (ops["graph.pool_nchwc"], ops["graph.prelu"], ops["graph.layout_transform"]) == (1, 1, 2)
    x = np.random.default_rng(11).standard_normal((1, 8, 7, 7)).astype(np.float32)
    expected = run_reference(module, params, [x])[0]
    np.testing.assert_allclose(
        run_reference(blocked, blocked_params, [x])[0], expected, rtol=1e-5, atol=1e-5
    )
    runner = GraphModule(ziggurat.build(blocked, params=blocked_params, opt_level=0))
    runner.run(x=x)
    np.testing.assert_allclose(runner.get_output(0), expected, rtol=1e-4, atol=1e-5)


def test_the_block_defaults_to_the_target_vector_width() -> None:
    """SSE's 128-bit registers hold 4 floats: eight channels make two blocks."""
    target = "llvm -mcpu=haswell -mattr=-avx"
    module, params = ziggurat.from_onnx(grouped_block())
    blocked = module.clone()
    blocked.attributes[CPU_ATTR] = parse_target(target)
    ctx = make_context(params)
    with statistics.collect() as counters:
        PassManager.parse("graph-alter-layout").run(ctx, blocked)
    assert counters["convs-converted"] == 2
    assert 'dst_layout = "NCHW4c"' in ir_text(blocked)
    x = np.random.default_rng(12).standard_normal((1, 8, 7, 7)).astype(np.float32)
    runner = GraphModule(ziggurat.build(blocked, target, params=ctx.params, opt_level=3))
    runner.run(x=x)
    np.testing.assert_allclose(
        runner.get_output(0), run_reference(module, params, [x])[0], rtol=1e-4, atol=1e-5
    )
