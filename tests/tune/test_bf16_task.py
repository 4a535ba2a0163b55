"""The bf16 kernels are tuning tasks like the fp32 ones: the register-tile knobs cover the
packed bf16 matmul (its bf16.dot2 reduction), and configs from its space build and run."""

import numpy as np
import onnx
from onnx import helper, numpy_helper

import ziggurat
from ziggurat import tune
from ziggurat.tune.measure import LocalMeasurer, LocalRunner, measure_option
from ziggurat.tune.records import ErrorCode

TARGET = "llvm -mcpu=native"


def _dense() -> onnx.ModelProto:
    w = np.random.default_rng(3).standard_normal((96, 64)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "bf16_dense",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, (32, 96))],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, (32, 64))],
        [numpy_helper.from_array(w, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    return model


def test_bf16_matmul_task_is_extracted_and_its_configs_run() -> None:
    module, params = ziggurat.from_onnx(_dense())
    qmod, qparams = ziggurat.quantize(module, params, scheme="bf16")
    tasks = [t for t in tune.extract_tasks(qmod, TARGET, qparams) if "matmul_bf16" in t.name]
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
