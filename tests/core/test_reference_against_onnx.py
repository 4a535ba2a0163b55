"""The numpy reference interpreter (core/reference.py) is both what graph-fold-constants
evaluates with and what many tests compare against, so it is checked here against an
independent implementation: onnx's own reference evaluator, on the ONNX node cases and on
models whose graph the optimizing passes rewrite into ops of Ziggurat's own (blocked layouts,
Winograd transforms, folded batch norms). Every op the interpreter evaluates must be covered.
"""

import sys
from functools import cache
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import ziggurat
from ziggurat.core.context import make_context
from ziggurat.core.errors import ZigguratError
from ziggurat.core.pass_manager import PassManager
from ziggurat.core.pipelines import GRAPH_PASSES_BY_LEVEL
from ziggurat.core.reference import EVALUATORS, run_reference
from ziggurat.core.targets import as_target
from ziggurat.dialects import graph
from ziggurat.dialects.target import CPU_ATTR
from ziggurat.frontend.onnx.dynamic import DynamicModel

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from conformance.onnx_cases import cases  # noqa: E402


def _conv_block_model() -> onnx.ModelProto:
    """conv 3x3 -> batch norm -> relu -> max pool -> two 3x3 convs with a residual add ->
    global average pool: what alter-layout, Winograd and the folds rewrite."""
    rng = np.random.default_rng(0)

    def weight(name: str, *shape: int) -> onnx.TensorProto:
        return onnx.numpy_helper.from_array(
            (rng.standard_normal(shape) * 0.2).astype(np.float32), name
        )

    channels = 32
    initializers = [
        weight("w0", channels, 3, 3, 3),
        weight("b0", channels),
        onnx.numpy_helper.from_array(rng.uniform(0.5, 1.5, channels).astype(np.float32), "gamma"),
        weight("beta", channels),
        weight("mean", channels),
        onnx.numpy_helper.from_array(rng.uniform(0.5, 1.5, channels).astype(np.float32), "var"),
        weight("w1", channels, channels, 3, 3),
        weight("w2", channels, channels, 3, 3),
        weight("b2", channels),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w0", "b0"], ["c0"], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c0", "gamma", "beta", "mean", "var"], ["n0"]),
        helper.make_node("Relu", ["n0"], ["r0"]),
        helper.make_node("MaxPool", ["r0"], ["p0"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p0", "w1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["c2", "p0"], ["s"]),
        helper.make_node("GlobalAveragePool", ["s"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "conv_block",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)],
        initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _with_integer_inputs_bound(
    model: onnx.ModelProto, feeds: dict[str, np.ndarray]
) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    """The model with its integer inputs (shapes, axes, pads, indices) as initializers, as
    real models carry them, so the ops they parametrize import too; the other feeds."""
    bound = onnx.ModelProto()
    bound.CopyFrom(model)
    rest: dict[str, np.ndarray] = {}
    for name, value in feeds.items():
        if value.dtype.kind in "iu":
            bound.graph.initializer.append(onnx.numpy_helper.from_array(value, name))
        else:
            rest[name] = value
    return bound, rest


def _node_variants():
    """Each node case as given, and with its integer inputs bound."""
    for case in cases():
        yield case, case.model, case.inputs[0]
        bound, rest = _with_integer_inputs_bound(case.model, case.inputs[0])
        if len(rest) < len(case.inputs[0]):
            yield case, bound, rest


@cache
def _node_results() -> tuple[list[str], frozenset[type]]:
    """(mismatches, op types evaluated) over the node cases Ziggurat imports."""
    mismatches: list[str] = []
    covered: set[type] = set()
    for case, model, feeds in _node_variants():
        try:
            module, params = ziggurat.from_onnx(model, shape={n: v.shape for n, v in feeds.items()})
            if isinstance(module, DynamicModel):
                continue  # its inputs decide shapes: the bound variant below checks it
            ours = run_reference(module, params, feeds)
        except ZigguratError:
            continue
        covered |= {type(op) for op in module.walk()}
        theirs = ReferenceEvaluator(model).run(None, feeds)
        for n, (got, want) in enumerate(zip(ours, theirs, strict=True)):
            want = np.asarray(want)
            if got.shape != want.shape or not np.allclose(
                got, want, rtol=max(case.rtol, 1e-4), atol=max(case.atol, 1e-5), equal_nan=True
            ):
                mismatches.append(f"{case.name} output {n}")
    return mismatches, frozenset(covered)


def _rewriting_passes(opt_level: int) -> list[str]:
    """The graph passes of `opt_level` but the fusion, whose kernels the interpreter does not
    run (their ops are the ones it checks anyway)."""
    return [p for p in GRAPH_PASSES_BY_LEVEL[opt_level] if p != "graph-fuse-ops"]


@cache
def _rewritten_results(opt_level: int) -> tuple[float, frozenset[type]]:
    """(largest difference from onnx, op types evaluated) of the conv block after the graph
    passes of `opt_level`."""
    model = _conv_block_model()
    x = np.random.default_rng(1).standard_normal((1, 3, 32, 32)).astype(np.float32)
    module, params = ziggurat.from_onnx(model, shape={"x": x.shape})
    module.attributes[CPU_ATTR] = as_target("llvm -mcpu=skylake-avx512")
    ctx = make_context(params)
    if _rewriting_passes(opt_level):
        PassManager.parse(",".join(_rewriting_passes(opt_level))).run(ctx, module)
    (ours,) = run_reference(module, ctx.params, {"x": x})
    (theirs,) = ReferenceEvaluator(model).run(None, {"x": x})
    return float(np.abs(ours - theirs).max()), frozenset(type(op) for op in module.walk())


def test_interpreter_matches_onnx_on_the_node_cases():
    mismatches, _ = _node_results()
    assert mismatches == []


@pytest.mark.parametrize("opt_level", [0, 2, 3])
def test_interpreter_matches_onnx_after_the_graph_passes(opt_level: int):
    difference, _ = _rewritten_results(opt_level)
    assert difference < 1e-4


def _qdq_block_model() -> onnx.ModelProto:
    """A quantize_static-style QDQ conv (uint8 activations, int8 symmetric per-channel
    weights, int32 bias) then a QDQ matmul, with a float output: what graph-fuse-qdq's int8
    fast path rewrites (graph.pack_u8x4, graph.conv_u8s8, graph.matmul_u8s8)."""
    rng = np.random.default_rng(2)
    channels = 8
    w_scale = rng.uniform(0.01, 0.03, channels).astype(np.float32)
    arrays = {
        "xs": np.array(0.02, np.float32), "xz": np.array(117, np.uint8),
        "w": rng.integers(-127, 128, (channels, 3, 3, 3)).astype(np.int8), "ws": w_scale,
        "wz": np.zeros(channels, np.int8), "b": rng.integers(-500, 500, channels).astype(np.int32),
        "bs": np.float32(0.02) * w_scale, "ys": np.array(0.05, np.float32),
        "yz": np.array(3, np.uint8), "m": rng.integers(-127, 128, (5, 10)).astype(np.int8),
        "ms": np.array(0.01, np.float32), "mz": np.array(0, np.int8),
        "zs": np.array(0.04, np.float32), "zz": np.array(128, np.uint8),
    }  # fmt: skip
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
        helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xf"]),
        helper.make_node("DequantizeLinear", ["w", "ws", "wz"], ["wf"], axis=0),
        helper.make_node("DequantizeLinear", ["b", "bs"], ["bf"], axis=0),
        helper.make_node("Conv", ["xf", "wf", "bf"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("QuantizeLinear", ["c", "ys", "yz"], ["cq"]),
        helper.make_node("DequantizeLinear", ["cq", "ys", "yz"], ["cf"]),
        helper.make_node("DequantizeLinear", ["m", "ms", "mz"], ["mf"]),
        helper.make_node("MatMul", ["cf", "mf"], ["p"]),
        helper.make_node("QuantizeLinear", ["p", "zs", "zz"], ["pq"]),
        helper.make_node("DequantizeLinear", ["pq", "zs", "zz"], ["y"]),
    ]
    return _qdq_model("qdq_block", nodes, arrays, "y")


def _qdq_model(
    name: str, nodes: list[onnx.NodeProto], arrays: dict[str, np.ndarray], output: str
) -> onnx.ModelProto:
    """A QDQ graph over a float input x of [1, 3, 6, 5]."""
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 3, 6, 5])],
        [helper.make_tensor_value_info(output, onnx.TensorProto.FLOAT, None)],
        [onnx.numpy_helper.from_array(v, n) for n, v in arrays.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])


def _steps_from_onnx(
    model: onnx.ModelProto, seed: int, step: float, expected: set[type]
) -> np.ndarray:
    """|ours - onnx's| in output steps, ours evaluated after opt_level 3's rewriting passes,
    which must have made the `expected` ops."""
    x = np.random.default_rng(seed).standard_normal((1, 3, 6, 5)).astype(np.float32)
    module, params = ziggurat.from_onnx(model)
    ctx = make_context(params)
    PassManager.parse(",".join(_rewriting_passes(3))).run(ctx, module)
    assert expected <= {type(op) for op in module.walk()}
    (ours,) = run_reference(module, ctx.params, {"x": x})
    (theirs,) = ReferenceEvaluator(model).run(None, {"x": x})
    return np.abs(ours - theirs) / step


def test_int8_fast_path_ops_match_onnx():
    """The integer evaluation after graph-fuse-qdq against onnx's float QDQ semantics: the
    same up to one output step at a rounding tie (0.04 here)."""
    expected = {graph.PackU8x4Op, graph.ConvU8S8Op, graph.MatmulU8S8Op}
    steps = _steps_from_onnx(_qdq_block_model(), 3, 0.04, expected)
    assert steps.max() <= 1.001 and np.mean(steps < 0.5) >= 0.99


def _qdq_chain_model() -> onnx.ModelProto:
    """Two quantize_static-style QDQ convolutions in a row (an RGB-like input of three
    channels, then sixteen), which graph-alter-layout runs blocked (graph.conv_u8s8_nchwc)."""
    rng = np.random.default_rng(5)
    arrays: dict[str, np.ndarray] = {
        "xs": np.array(0.02, np.float32), "xz": np.array(117, np.uint8),
        "ys": np.array(0.05, np.float32), "yz": np.array(3, np.uint8),
    }  # fmt: skip
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["q0"]),
        helper.make_node("DequantizeLinear", ["q0", "xs", "xz"], ["f0"]),
    ]
    for n, inputs in enumerate((3, 16), start=1):
        w_scale = rng.uniform(0.01, 0.03, 16).astype(np.float32)
        arrays |= {
            f"w{n}": rng.integers(-127, 128, (16, inputs, 3, 3)).astype(np.int8),
            f"ws{n}": w_scale, f"wz{n}": np.zeros(16, np.int8),
            f"b{n}": rng.integers(-500, 500, 16).astype(np.int32),
            f"bs{n}": (arrays["xs" if n == 1 else "ys"] * w_scale).astype(np.float32),
        }  # fmt: skip
        nodes += [
            helper.make_node("DequantizeLinear", [f"w{n}", f"ws{n}", f"wz{n}"], [f"wf{n}"], axis=0),
            helper.make_node("DequantizeLinear", [f"b{n}", f"bs{n}"], [f"bf{n}"], axis=0),
            helper.make_node("Conv", [f"f{n - 1}", f"wf{n}", f"bf{n}"], [f"c{n}"], pads=[1, 1, 1, 1]),
            helper.make_node("QuantizeLinear", [f"c{n}", "ys", "yz"], [f"q{n}"]),
            helper.make_node("DequantizeLinear", [f"q{n}", "ys", "yz"], [f"f{n}"]),
        ]  # fmt: skip
    return _qdq_model("qdq_chain", nodes, arrays, "f2")


def test_blocked_int8_ops_match_onnx():
    """The blocked int8 convolutions after graph-alter-layout against onnx's float QDQ
    semantics: the same up to one output step (0.05) at a rounding tie."""
    steps = _steps_from_onnx(_qdq_chain_model(), 6, 0.05, {graph.ConvU8S8NchwcOp})
    assert steps.max() <= 1.001 and np.mean(steps < 0.5) >= 0.99


def _bf16_rewritten(
    nodes: list[onnx.NodeProto], weights: dict[str, np.ndarray], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, list[type]]:
    """(the bf16 scheme's f32 products of rounded operands, the packed evaluation after
    opt_level 3's rewriting passes, the op types it ran) for a model of x [1, 16, 6, 5]."""
    x_info = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, (1, 16, 6, 5))
    y_info = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)
    initializers = [numpy_helper.from_array(v.astype(np.float32), n) for n, v in weights.items()]
    model = helper.make_model(helper.make_graph(nodes, "bf16", [x_info], [y_info], initializers))
    x = rng.standard_normal((1, 16, 6, 5)).astype(np.float32)
    module, params = ziggurat.from_onnx(model)
    qmod, qparams = ziggurat.quantize(module, params, scheme="bf16")
    (want,) = run_reference(qmod, qparams, {"x": x})
    ctx = make_context(qparams)
    PassManager.parse(",".join(_rewriting_passes(3))).run(ctx, qmod)
    (ours,) = run_reference(qmod, ctx.params, {"x": x})
    return want, ours, [type(op) for op in qmod.walk()]


def test_bf16_fast_path_ops_match_the_rounded_products():
    """The packed bf16 evaluation after graph-pack-bf16 against the bf16 scheme's f32 products
    of rounded operands: the same numbers summed in another order (rtol 1e-3)."""
    rng = np.random.default_rng(4)
    weights = {"w": rng.standard_normal((8, 16, 3, 3)), "m": rng.standard_normal((240, 10))}
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Flatten", ["c"], ["f"]),
        helper.make_node("MatMul", ["f", "m"], ["y"]),
    ]
    want, ours, types = _bf16_rewritten(nodes, weights, rng)
    assert {graph.PackBf16x2Op, graph.ConvBf16Op, graph.MatmulBf16Op} <= set(types)
    np.testing.assert_allclose(ours, want, rtol=1e-3, atol=1e-3)


def test_blocked_bf16_ops_match_the_rounded_products():
    """Two bf16-scheme convolutions in a row, which graph-alter-layout runs blocked
    (graph.conv_bf16_nchwc), against the scheme's f32 products of rounded operands."""
    rng = np.random.default_rng(8)
    weights = {name: rng.standard_normal((16, 16, 3, 3)) for name in ("w1", "w2")}
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2"], ["y"], pads=[1, 1, 1, 1]),
    ]
    want, ours, types = _bf16_rewritten(nodes, weights, rng)
    assert types.count(graph.ConvBf16NchwcOp) == 2
    np.testing.assert_allclose(ours, want, rtol=1e-3, atol=1e-3)


def test_every_evaluator_is_checked():
    covered = set(_node_results()[1])
    for level in (0, 2, 3):
        covered |= _rewritten_results(level)[1]
    covered |= {graph.PackU8x4Op, graph.ConvU8S8Op, graph.MatmulU8S8Op}  # the tests above
    covered |= {graph.ConvU8S8NchwcOp, graph.ConvBf16NchwcOp}
    covered |= {graph.PackBf16x2Op, graph.ConvBf16Op, graph.MatmulBf16Op}
    unchecked = sorted(op.name for op in EVALUATORS if op not in covered)
    assert unchecked == []
