"""graph-fuse-horizontal merges sibling projections and branch convolutions and keeps the
numbers: the reference executor before and after, and compiled models against it."""

from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import pytest

import ziggurat
from benchmarks.models.bert import bert_encoder
from benchmarks.models.builder import GraphBuilder
from ziggurat.core import statistics
from ziggurat.core.context import make_context
from ziggurat.core.pass_manager import PassManager
from ziggurat.core.reference import run_reference
from ziggurat.runtime import GraphModule

LIGHT = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
BEFORE = "graph-fold-constants,graph-simplify-inference"


def graph_ops(module) -> Counter[str]:
    return Counter(op.name for op in module.walk() if op.dialect_name() == "graph")


def merge(model: onnx.ModelProto, spec: str = "graph-fuse-horizontal"):
    """The imported model, and a copy after the inference folds and `spec`, with the
    params store and the statistics of `spec`."""
    module, params = ziggurat.from_onnx(model)
    ctx = make_context(params)
    merged = module.clone()
    PassManager.parse(BEFORE).run(ctx, merged)
    with statistics.collect() as counters:
        PassManager.parse(spec).run(ctx, merged)
    return module, params, merged, ctx.params, counters


def inception_block(channels: int = 8, image: int = 6) -> onnx.ModelProto:
    """Three 1x1 branches and a 3x3 branch on one input, relu'd and concatenated."""
    g = GraphBuilder(seed=4)
    branches = []
    for n, (c_out, kernel) in enumerate([(4, 1), (8, 1), (2, 1), (4, 3)]):
        w = g.weight(f"b{n}.weight", (c_out, channels, kernel, kernel), 0.3)
        b = g.weight(f"b{n}.bias", (c_out,), 0.1)
        pads = [kernel // 2] * 4
        conv = g.node("Conv", ["x", w, b], f"b{n}/conv", kernel_shape=[kernel] * 2, pads=pads)
        branches.append(g.node("Relu", [conv], f"b{n}/relu"))
    g.nodes.append(onnx.helper.make_node("Concat", branches, ["y"], axis=1, name="/concat"))
    graph = onnx.helper.make_graph(
        g.nodes,
        "inception_block",
        [onnx.helper.make_tensor_value_info("x", 1, [1, channels, image, image])],
        [onnx.helper.make_tensor_value_info("y", 1, [1, 18, image, image])],
        g.initializers,
    )
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def test_bert_query_key_value_become_one_matmul_and_one_bias_add() -> None:
    module, params, merged, merged_params, counters = merge(bert_encoder(seq=16))
    assert (counters["groups"], counters["ops-merged"], counters["bias-adds-merged"]) == (2, 6, 6)
    assert graph_ops(merged)["graph.matmul"] == graph_ops(module)["graph.matmul"] - 4
    assert graph_ops(merged)["graph.slice"] == 6
    inputs = {"hidden_states": np.random.default_rng(5).standard_normal((1, 16, 128))}
    expected = run_reference(module, params, inputs)[0]
    np.testing.assert_allclose(
        run_reference(merged, merged_params, inputs)[0], expected, rtol=1e-5, atol=1e-5
    )


def test_inception_v1_branch_convolutions_merge() -> None:
    model = onnx.load(str(LIGHT / "light_inception_v1.onnx"))
    module, params, merged, merged_params, counters = merge(model)
    assert (counters["groups"], counters["ops-merged"]) == (9, 27)
    assert graph_ops(merged)["graph.conv"] == graph_ops(module)["graph.conv"] - 18
    inputs = [np.random.default_rng(6).standard_normal((1, 3, 224, 224)).astype(np.float32)]
    np.testing.assert_allclose(
        run_reference(merged, merged_params, inputs)[0],
        run_reference(module, params, inputs)[0],
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.parametrize("min_siblings, groups", [(2, 1), (3, 1), (4, 0)])
def test_min_siblings_leaves_smaller_groups(min_siblings: int, groups: int) -> None:
    spec = f"graph-fuse-horizontal{{min-siblings={min_siblings}}}"
    *_, counters = merge(inception_block(), spec)
    assert counters["groups"] == groups
    assert counters["ops-merged"] == 3 * groups


def test_compiled_block_with_merged_branches_matches_the_reference() -> None:
    module, params, merged, merged_params, counters = merge(inception_block())
    assert counters["ops-merged"] == 3
    x = np.random.default_rng(7).standard_normal((1, 8, 6, 6)).astype(np.float32)
    expected = run_reference(module, params, [x])[0]
    for candidate, weights, level in ((merged, merged_params, 0), (module, params, 3)):
        runner = GraphModule(ziggurat.build(candidate, params=weights, opt_level=level))
        runner.run(x=x)
        np.testing.assert_allclose(runner.get_output(0), expected, rtol=1e-4, atol=1e-5)
