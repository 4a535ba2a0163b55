"""graph-pack-bf16 and the bf16 kernels: `ziggurat.quantize(..., scheme="bf16")` products on
packed bf16 pairs, with `vdpbf16ps` where the target has AVX512_BF16 and widened f32
arithmetic elsewhere, against numpy on the same bf16-rounded operands.

Tolerance rtol 1e-3: the operands and each product are exact, but the f32 sums run in
another order (pairs first, then the register tile's lanes) than numpy's, and vdpbf16ps
flushes denormals; over K of a few hundred the sums differ by some f32 ulps of the partial
sums, up to ~1e-4 of the result where terms cancel."""

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

import ziggurat
from ziggurat.backend.export import required_features
from ziggurat.core import statistics
from ziggurat.core.targets import parse_target
from ziggurat.lowering.dot2 import has_avx512bf16
from ziggurat.runtime import GraphModule
from ziggurat.runtime.dtypes import dtype_named

RNG = np.random.default_rng(15)
NATIVE = "llvm -mcpu=native"
WITHOUT_BF16 = "llvm -mcpu=native -mattr=-avx512bf16"
TARGETS = [NATIVE, WITHOUT_BF16]


def _bf16(x: np.ndarray) -> np.ndarray:
    return x.astype(dtype_named("bfloat16")).astype(np.float32)


def _model(node: onnx.NodeProto, x: np.ndarray, initializers: dict[str, np.ndarray]):
    graph = helper.make_graph(
        [node],
        "bf16",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, x.shape)],
        [helper.make_tensor_value_info("y", 0, None)],
        [numpy_helper.from_array(v, n) for n, v in initializers.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    return onnx.shape_inference.infer_shapes(model, strict_mode=True)


def _run(model: onnx.ModelProto, x: np.ndarray, target: str) -> tuple[np.ndarray, dict, str]:
    module, params = ziggurat.from_onnx(model)
    qmod, qparams = ziggurat.quantize(module, params, scheme="bf16")
    with statistics.collect() as counters:
        lib = ziggurat.build(qmod, target=target, params=qparams, use_cache=False)
    runner = GraphModule(lib)
    runner.run(x=x)
    return runner.get_output(0), dict(counters), lib.keepalive.assembly()


def _conv_reference(x: np.ndarray, w: np.ndarray, b: np.ndarray, pad: int) -> np.ndarray:
    padded = np.pad(x.astype(np.float64), [(0, 0), (0, 0), (pad, pad), (pad, pad)])
    k = w.shape[2]
    rows, cols = padded.shape[2] - k + 1, padded.shape[3] - k + 1
    out = np.zeros((x.shape[0], w.shape[0], rows, cols))
    for i in range(k):
        for j in range(k):
            window = padded[:, :, i : i + rows, j : j + cols]
            out += np.einsum("nchw,fc->nfhw", window, w[:, :, i, j].astype(np.float64))
    return out + b.reshape(1, -1, 1, 1)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("k, n", [(64, 32), (75, 20)])
def test_matmul_on_packed_bf16(target: str, k: int, n: int) -> None:
    x = RNG.standard_normal((5, k)).astype(np.float32)
    w = RNG.standard_normal((k, n)).astype(np.float32)
    node = helper.make_node("MatMul", ["x", "w"], ["y"])
    got, counters, _ = _run(_model(node, x, {"w": w}), x, target)
    assert counters.get("bf16-matmuls", 0) == 1
    want = _bf16(x).astype(np.float64) @ _bf16(w).astype(np.float64)
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("channels, pad", [(16, 1), (17, 0)])
def test_conv_on_packed_bf16(target: str, channels: int, pad: int) -> None:
    x = RNG.standard_normal((1, channels, 9, 9)).astype(np.float32)
    w = RNG.standard_normal((24, channels, 3, 3)).astype(np.float32)
    b = RNG.standard_normal(24).astype(np.float32)
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[pad] * 4)
    got, counters, _ = _run(_model(node, x, {"w": w, "b": b}), x, target)
    assert counters.get("bf16-convs", 0) == 1
    want = _conv_reference(_bf16(x), _bf16(w), b, pad)
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3)


def _dense(target: str) -> tuple[dict, str]:
    x = RNG.standard_normal((4, 64)).astype(np.float32)
    w = RNG.standard_normal((64, 32)).astype(np.float32)
    _, counters, assembly = _run(
        _model(helper.make_node("MatMul", ["x", "w"], ["y"]), x, {"w": w}), x, target
    )
    return counters, assembly


@pytest.mark.skipif(not has_avx512bf16(parse_target(NATIVE)), reason="no AVX512_BF16 here")
def test_bf16_target_uses_vdpbf16ps() -> None:
    counters, assembly = _dense(NATIVE)
    assert counters.get("vdpbf16ps", 0) > 0 and "vdpbf16ps" in assembly


def test_target_without_bf16_widens() -> None:
    counters, assembly = _dense(WITHOUT_BF16)
    assert counters.get("dot2-widened", 0) > 0 and "vdpbf16ps" not in assembly


@pytest.mark.parametrize(
    "target, needs_bf16",
    [
        ("llvm -mtriple=x86_64-unknown-linux-gnu -mcpu=znver4", True),
        ("llvm -mtriple=x86_64-unknown-linux-gnu -mcpu=znver4 -mattr=-avx512bf16", False),
        ("llvm -mtriple=x86_64-unknown-linux-gnu -mcpu=icelake-server", False),
    ],
)
def test_packages_record_the_bf16_requirement(target: str, needs_bf16: bool) -> None:
    assert ("avx512bf16" in required_features(parse_target(target))) == needs_bf16
