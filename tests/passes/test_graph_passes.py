"""Graph-level passes keep the numbers (reference executor before and after, on random
inputs) and do what they say (op counts, statistics)."""

from collections import Counter

import numpy as np
import pytest

import ziggurat
from benchmarks.models.bert import bert_encoder
from benchmarks.models.mobilenet import mobilenet_v2
from benchmarks.models.resnet import resnet18
from ziggurat.core import statistics
from ziggurat.core.context import make_context
from ziggurat.core.pass_manager import PassManager
from ziggurat.core.reference import run_reference
from ziggurat.runtime import GraphModule

MODELS = {
    "resnet18": (lambda: resnet18(image=64), {"input": (1, 3, 64, 64)}),
    "mobilenet_v2": (lambda: mobilenet_v2(image=32), {"input": (1, 3, 32, 32)}),
    "bert_encoder": (lambda: bert_encoder(seq=16), {"hidden_states": (1, 16, 128)}),
}
PIPELINE = "graph-canonicalize,graph-eliminate-dead,graph-fold-constants,graph-simplify-inference,graph-canonicalize,graph-eliminate-dead"


def graph_ops(module) -> Counter[str]:
    return Counter(op.name for op in module.walk() if op.dialect_name() == "graph")


@pytest.mark.parametrize("name", sorted(MODELS))
def test_graph_passes_keep_the_numbers(name: str) -> None:
    builder, shapes = MODELS[name]
    module, params = ziggurat.from_onnx(builder())
    ctx = make_context(params)
    optimized = module.clone()
    PassManager.parse(PIPELINE).run(ctx, optimized)
    rng = np.random.default_rng(1)
    inputs = {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}
    before = run_reference(module, params, inputs)
    after = run_reference(optimized, ctx.params, inputs)
    for b, a in zip(before, after, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
    assert graph_ops(optimized)["graph.batch_norm"] == 0


def test_resnet18_batch_norms_fold_into_convolutions() -> None:
    module, params = ziggurat.from_onnx(resnet18(image=32))
    assert graph_ops(module)["graph.batch_norm"] == 20
    ctx = make_context(params)
    with statistics.collect() as counters:
        PassManager.parse("graph-simplify-inference").passes[0].apply(ctx, module)
    assert counters["batch-norms-folded"] == 20
    assert graph_ops(module)["graph.conv"] == 20


@pytest.mark.parametrize("name", sorted(MODELS))
def test_opt_level_3_equals_opt_level_0(name: str) -> None:
    builder, shapes = MODELS[name]
    module, params = ziggurat.from_onnx(builder())
    rng = np.random.default_rng(2)
    inputs = {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}
    outputs = []
    for level in (0, 3):
        runner = GraphModule(ziggurat.build(module, params=params, opt_level=level))
        runner.run(**inputs)
        outputs.append(runner.get_output(0))
    np.testing.assert_allclose(outputs[1], outputs[0], rtol=1e-3, atol=1e-4)


def test_fusion_groups_resnet18_and_keeps_the_numbers() -> None:
    module, params = ziggurat.from_onnx(resnet18(image=32))
    ctx = make_context(params)
    with statistics.collect() as counters:
        PassManager.parse("graph-fold-constants,graph-simplify-inference,graph-fuse-ops").run(
            ctx, module
        )
    assert graph_ops(module)["graph.batch_norm"] == 0
    assert counters["groups-fused"] >= 15
    inputs = {"input": np.random.default_rng(3).standard_normal((1, 3, 32, 32)).astype(np.float32)}
    original, original_params = ziggurat.from_onnx(resnet18(image=32))
    expected = run_reference(original, original_params, inputs)[0]
    runner = GraphModule(ziggurat.build(module, params=ctx.params, opt_level=0))
    runner.run(**inputs)
    np.testing.assert_allclose(runner.get_output(0), expected, rtol=1e-3, atol=1e-4)


def test_encoder_fuses_bias_gelu_and_residual_into_its_matmuls() -> None:
    module, params = ziggurat.from_onnx(bert_encoder(seq=16))
    ctx = make_context(params)
    PassManager.parse(f"{PIPELINE},graph-fuse-horizontal,graph-fuse-ops").run(ctx, module)
    kinds = Counter(op.kind.data for op in module.walk() if op.name == "graph.fused")
    assert kinds["matmul_add_div_erf_add_mul_mul"] == 2
    assert kinds["matmul_add_add"] == 4
