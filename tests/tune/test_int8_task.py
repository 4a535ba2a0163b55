"""The int8 kernels are tuning tasks like the fp32 ones: the register-tile knobs cover the
packed u8 x s8 matmul (its int8.dot4 reduction), and configs from its space build and give
the right answer when measured."""

import numpy as np
import onnx
from onnx import helper, numpy_helper

import ziggurat
from ziggurat import tune
from ziggurat.lowering.dot4 import has_vnni
from ziggurat.tune.measure import LocalMeasurer, LocalRunner, measure_option
from ziggurat.tune.records import ErrorCode

TARGET = "llvm -mcpu=native"


def _qdq_matmul() -> onnx.ModelProto:
    rng = np.random.default_rng(3)
    initializers = {
        "xs": np.array(0.02, np.float32), "xz": np.array(120, np.uint8),
        "w": rng.integers(-128, 128, (96, 64)).astype(np.int8),
        "ws": rng.uniform(0.002, 0.02, 64).astype(np.float32), "wz": np.zeros(64, np.int8),
        "ys": np.array(0.3, np.float32), "yz": np.array(5, np.uint8),
    }  # fmt: skip
    nodes = [
        helper.make_node("DequantizeLinear", ["x", "xs", "xz"], ["xf"]),
        helper.make_node("DequantizeLinear", ["w", "ws", "wz"], ["wf"], axis=1),
        helper.make_node("MatMul", ["xf", "wf"], ["yf"]),
        helper.make_node("QuantizeLinear", ["yf", "ys", "yz"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "int8_dense",
        [helper.make_tensor_value_info("x", onnx.TensorProto.UINT8, (32, 96))],
        [helper.make_tensor_value_info("y", onnx.TensorProto.UINT8, (32, 64))],
        [numpy_helper.from_array(v, n) for n, v in initializers.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    return model


def test_int8_matmul_task_is_extracted_and_its_configs_run_correctly() -> None:
    module, params = ziggurat.from_onnx(_qdq_matmul())
    tasks = [t for t in tune.extract_tasks(module, TARGET, params) if "matmul_u8s8" in t.name]
    assert len(tasks) == 1
    (task,) = tasks
    assert "tile_rows" in str(task) and task.space.index_of(task.default) is not None
    configs = [
        task.default,
        *[c for c in task.space.points if c != task.default][:: max(1, len(task.space) // 4)],
    ]
    option = measure_option(runner=LocalRunner(number=2, repeat=2, timeout=10, min_repeat_ms=1))
    with LocalMeasurer(option) as measurer:
        results = [m.result for m in measurer.measure(task, configs)]
    codes = [r.error_code for r in results]
    assert codes[0] == ErrorCode.NO_ERROR and codes.count(ErrorCode.NO_ERROR) >= 3
    # a config the nest cannot take is refused when scheduled, never built wrong
    assert set(codes) <= {ErrorCode.NO_ERROR, ErrorCode.INSTANTIATION_ERROR}


def test_int8_task_counts_its_multiply_adds_and_its_bound_takes_the_vnni_rate() -> None:
    """A 32x96 by 96x64 product: 32 * 96 * 64 multiply-adds, two operations each (an
    int8.dot4 lane counts eight), plus the epilogue's float ops; on a target with VNNI its
    products run at four times the f32 FMA rate, without it at the widened rate."""
    module, params = ziggurat.from_onnx(_qdq_matmul())
    for target, rate in ((TARGET, 4.0), (f"{TARGET} -mattr=-avx512vnni", 1.0)):
        (task,) = [t for t in tune.extract_tasks(module, target, params) if "matmul_u8s8" in t.name]
        products = 2 * 32 * 96 * 64
        assert products <= task.flops < products + 32 * 64 * 16
        if has_vnni(task.target):
            assert task.product_rate == rate
        else:
            assert task.product_rate == 1.0
