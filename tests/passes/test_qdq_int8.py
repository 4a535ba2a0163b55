"""The int8 fast path (passes/graph/qdq_int8.py, lowering/dot4.py): quantized convolutions
and matmuls with symmetric int8 weights computed on packed u8 x s8 operands, with vpdpbusd
where the target has AVX512_VNNI and widened arithmetic where it does not (a target with
the feature turned off stands for such a CPU). Against onnxruntime's QLinearConv and
QLinearMatMul (which it fuses these QDQ graphs into): zero points at the type's ends, per-channel scales,
saturation, K not a multiple of 4 and N not of 16, padding with the zero point."""

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

import ziggurat
from tests.models import onnxruntime_outputs
from ziggurat.backend.export import required_features
from ziggurat.core import statistics
from ziggurat.core.reference import run_reference
from ziggurat.core.targets import parse_target
from ziggurat.lowering.dot4 import has_vnni
from ziggurat.runtime import GraphModule

RNG = np.random.default_rng(15)
NATIVE = "llvm -mcpu=native"
WITHOUT_VNNI = "llvm -mcpu=native -mattr=-avx512vnni"
TARGETS = [NATIVE, WITHOUT_VNNI]


def _model(nodes: list[onnx.NodeProto], x: np.ndarray, initializers: dict[str, np.ndarray]):
    graph = helper.make_graph(
        nodes,
        "int8",
        [helper.make_tensor_value_info("x", helper.np_dtype_to_tensor_dtype(x.dtype), x.shape)],
        [helper.make_tensor_value_info("y", 0, None)],
        [numpy_helper.from_array(v, n) for n, v in initializers.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    return onnx.shape_inference.infer_shapes(model, strict_mode=True)


def _qdq(op: str, inputs: list[str], axis: int, **attrs: object) -> list[onnx.NodeProto]:
    """DQ(x), DQ(w) per `axis`, DQ(bias) where given -> op -> Q: a quantize_static graph."""
    dequantized = [
        helper.make_node("DequantizeLinear", ["x", "xs", "xz"], ["xf"]),
        helper.make_node("DequantizeLinear", ["w", "ws", "wz"], ["wf"], axis=axis),
    ]
    if "b" in inputs:
        dequantized.append(helper.make_node("DequantizeLinear", ["b", "bs"], ["bf"], axis=0))
    floats = ["xf", "wf", *(["bf"] if "b" in inputs else [])]
    return [
        *dequantized,
        helper.make_node(op, floats, ["yf"], **attrs),
        helper.make_node("QuantizeLinear", ["yf", "ys", "yz"], ["y"]),
    ]


def _run(model: onnx.ModelProto, x: np.ndarray, target: str) -> tuple[np.ndarray, dict, str]:
    module, params = ziggurat.from_onnx(model)
    with statistics.collect() as counters:
        lib = ziggurat.build(module, target=target, params=params, use_cache=False)
    runner = GraphModule(lib)
    runner.run(x=x)
    got = runner.get_output(0)
    _within_one_step(got, run_reference(module, params, {"x": x})[0])
    return got, dict(counters), lib.keepalive.assembly()


def _within_one_step(got: np.ndarray, want: np.ndarray) -> None:
    steps = np.abs(got.astype(np.int64) - want.astype(np.int64))
    assert steps.max() <= 1 and np.mean(steps == 0) >= 0.999


def _integers(dtype: type, shape: tuple[int, ...]) -> np.ndarray:
    info = np.iinfo(dtype)
    return RNG.integers(info.min, int(info.max) + 1, shape).astype(dtype)


def _scalar(value: float, dtype: type) -> np.ndarray:
    return np.array(value, dtype)


def _qlinear(op: str, initializers: dict[str, np.ndarray], **attrs: object) -> onnx.NodeProto:
    """The QOperator node computing what `_qdq`'s graph does, for onnxruntime's kernels."""
    inputs = ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz", *(["b"] if "b" in initializers else [])]
    return helper.make_node(op, inputs, ["y"], **attrs)


def _check(nodes: list[onnx.NodeProto], x: np.ndarray, initializers: dict, target: str) -> str:
    """Ziggurat on the QDQ graph against onnxruntime's QLinear kernel: no output more than
    one step away, 99.9% equal (in a few runs one element in thousands, at a rounding tie,
    landed one step apart; see docs/notes.md)."""
    model = _model(nodes, x, initializers)
    op = "QLinearConv" if nodes[-2].op_type == "Conv" else "QLinearMatMul"
    attrs = {a.name: helper.get_attribute_value(a) for a in nodes[-2].attribute}
    qlinear = _model([_qlinear(op, initializers, **attrs)], x, initializers)
    want = onnxruntime_outputs(qlinear, {"x": x})[0]
    got, counters, assembly = _run(model, x, target)
    assert got.dtype == want.dtype
    _within_one_step(got, want)
    assert counters.get("u8s8-convs", 0) + counters.get("u8s8-matmuls", 0) == 1
    return assembly


CONV_CASES = [
    # x type, x zero point, weight shape, input shape, attributes
    (np.uint8, 0, (20, 5, 3, 3), (2, 5, 9, 7), {"pads": [1, 1, 1, 1]}),
    (np.uint8, 255, (16, 8, 1, 1), (1, 8, 6, 6), {}),
    (np.uint8, 131, (7, 3, 3, 2), (1, 3, 8, 9), {"pads": [1, 2, 0, 1], "strides": [2, 1]}),
    (np.int8, -128, (33, 4, 3, 3), (1, 4, 7, 7), {"pads": [2, 2, 2, 2], "dilations": [2, 2]}),
    (np.int8, 127, (17, 6, 2, 2), (1, 6, 5, 5), {"pads": [1, 0, 0, 1]}),
]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("x_type, x_zero, w_shape, x_shape, attrs", CONV_CASES)
def test_qlinear_conv_on_packed_operands(target, x_type, x_zero, w_shape, x_shape, attrs) -> None:
    x, channels = _integers(x_type, x_shape), w_shape[0]
    nodes = _qdq("Conv", ["x", "w", "b"], 0, **attrs)
    for y_scale in (0.004, 0.08):  # mostly saturated, then mostly in range
        w_scale = RNG.uniform(0.002, 0.02, channels).astype(np.float32)
        initializers = {
            "xs": _scalar(0.02, np.float32), "xz": _scalar(x_zero, x_type),
            "w": _integers(np.int8, w_shape), "ws": w_scale,
            "wz": np.zeros(channels, np.int8), "ys": _scalar(y_scale, np.float32),
            "yz": _scalar(0 if x_type == np.uint8 else -3, x_type),
            "b": RNG.integers(-3000, 3000, channels).astype(np.int32),
            "bs": np.float32(0.02) * w_scale,
        }  # fmt: skip
        _check(nodes, x, initializers, target)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize(
    "a_type, a_zero, k, n", [(np.uint8, 255, 37, 21), (np.uint8, 0, 64, 48), (np.int8, -128, 5, 3)]
)
def test_qlinear_matmul_on_packed_operands(target, a_type, a_zero, k, n) -> None:
    a = _integers(a_type, (2, 6, k))
    initializers = {
        "xs": _scalar(0.021, np.float32), "xz": _scalar(a_zero, a_type),
        "w": _integers(np.int8, (k, n)), "ws": RNG.uniform(0.002, 0.02, n).astype(np.float32),
        "wz": np.zeros(n, np.int8), "ys": _scalar(0.3, np.float32), "yz": _scalar(7, a_type),
    }  # fmt: skip
    _check(_qdq("MatMul", ["x", "w"], 1), a, initializers, target)


def _dense(target: str) -> tuple[dict, str]:
    a = _integers(np.uint8, (4, 64))
    initializers = {
        "xs": _scalar(0.02, np.float32), "xz": _scalar(100, np.uint8),
        "w": _integers(np.int8, (64, 32)), "ws": _scalar(0.01, np.float32),
        "wz": _scalar(0, np.int8), "ys": _scalar(0.5, np.float32), "yz": _scalar(9, np.uint8),
    }  # fmt: skip
    _, counters, assembly = _run(_model(_qdq("MatMul", ["x", "w"], 1), a, initializers), a, target)
    return counters, assembly


@pytest.mark.skipif(not has_vnni(parse_target(NATIVE)), reason="this CPU has no AVX512_VNNI")
def test_vnni_target_uses_vpdpbusd() -> None:
    counters, assembly = _dense(NATIVE)
    assert counters.get("vpdpbusd", 0) > 0 and "vpdpbusd" in assembly


def test_target_without_vnni_widens() -> None:
    counters, assembly = _dense(WITHOUT_VNNI)
    assert counters.get("dot4-widened", 0) > 0 and "vpdpbusd" not in assembly


@pytest.mark.parametrize(
    "target, needs_vnni",
    [
        ("llvm -mtriple=x86_64-unknown-linux-gnu -mcpu=cascadelake", True),
        ("llvm -mtriple=x86_64-unknown-linux-gnu -mcpu=znver4 -mattr=-avx512vnni", False),
        ("llvm -mtriple=x86_64-unknown-linux-gnu -mcpu=skylake-avx512", False),
    ],
)
def test_packages_record_the_vnni_requirement(target: str, needs_vnni: bool) -> None:
    assert ("avx512vnni" in required_features(parse_target(target))) == needs_vnni
