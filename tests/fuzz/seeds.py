"""The valid inputs the fuzzers start from: tiny models, their IR, a `.zgt`, a params file and
tuning log lines. Each is small, so a compile of a mutated one takes a fraction of a second."""

import io
import tempfile
from functools import cache
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ziggurat.examples import mlp_model

FUZZ_TARGET = "llvm"
"""A generic x86-64 target: what a fuzzed build compiles for, the same on every machine."""


def tiny_mlp() -> onnx.ModelProto:
    """Gemm + Relu + Gemm + Softmax, 4 -> 8 -> 3."""
    return mlp_model(1, (4, 8, 3))


def tiny_cnn() -> onnx.ModelProto:
    """Conv + BatchNormalization + Relu + MaxPool + Reshape + Concat + Gemm + Softmax on a
    1x2x6x6 image: a spread of converters and attributes to edit."""
    rng = np.random.default_rng(5)

    def weights(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.5).astype(np.float32)

    initializers = {
        "conv.w": weights(3, 2, 3, 3),
        "conv.b": weights(3),
        "bn.scale": weights(3) + 1,
        "bn.bias": weights(3),
        "bn.mean": weights(3),
        "bn.var": np.abs(weights(3)) + 1,
        "flat.shape": np.array([1, 27], dtype=np.int64),
        "extra": weights(1, 5),
        "fc.w": weights(4, 32),
        "fc.b": weights(4),
    }
    nodes = [
        helper.make_node("Conv", ["image", "conv.w", "conv.b"], ["c"], name="conv", pads=[1] * 4),
        helper.make_node(
            "BatchNormalization",
            ["c", "bn.scale", "bn.bias", "bn.mean", "bn.var"],
            ["n"],
            name="bn",
            epsilon=1e-5,
        ),
        helper.make_node("Relu", ["n"], ["r"], name="relu"),
        helper.make_node("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Reshape", ["p", "flat.shape"], ["f"], name="flatten"),
        helper.make_node("Concat", ["f", "extra"], ["joined"], name="concat", axis=1),
        helper.make_node("Gemm", ["joined", "fc.w", "fc.b"], ["logits"], name="fc", transB=1),
        helper.make_node("Softmax", ["logits"], ["scores"], name="softmax", axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "cnn",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 2, 6, 6])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 4])],
        [numpy_helper.from_array(value, name) for name, value in initializers.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def tiny_reshaper() -> onnx.ModelProto:
    """Transpose, Split, Add, ReduceMean, Gather, Slice, Where, Unsqueeze, Resize, Cast,
    Squeeze, Expand, Flatten and Clip on a 1x4x6 input, with two outputs: the shape ops and
    their attributes and constant inputs, to edit."""
    constants = {
        "split.sizes": np.array([3, 3], np.int64),
        "gather.indices": np.array([0, 2], np.int64),
        "slice.starts": np.array([0], np.int64),
        "slice.ends": np.array([2], np.int64),
        "slice.axes": np.array([1], np.int64),
        "where.condition": np.array([True, False, True, False]),
        "unsqueeze.axes": np.array([0], np.int64),
        "resize.scales": np.array([1, 1, 2, 2], np.float32),
        "squeeze.axes": np.array([0], np.int64),
        "expand.shape": np.array([1, 3, 4], np.int64),
        "clip.min": np.array(-0.5, np.float32),
        "clip.max": np.array(0.5, np.float32),
    }
    make = helper.make_node
    nodes = [
        make("Transpose", ["x"], ["t"], name="transpose", perm=[0, 2, 1]),
        make("Split", ["t", "split.sizes"], ["a", "b"], name="split", axis=1),
        make("Add", ["a", "b"], ["s"], name="add"),
        make("ReduceMean", ["s"], ["mean"], name="mean", axes=[2], keepdims=1),
        make("Gather", ["s", "gather.indices"], ["g"], name="gather", axis=1),
        make("Slice", ["s", "slice.starts", "slice.ends", "slice.axes"], ["sl"], name="slice"),
        make("Where", ["where.condition", "g", "sl"], ["w"], name="where"),
        make("Unsqueeze", ["w", "unsqueeze.axes"], ["u"], name="unsqueeze"),
        make("Resize", ["u", "", "resize.scales"], ["big"], name="resize", mode="nearest"),
        make("Cast", ["big"], ["cast"], name="cast", to=TensorProto.FLOAT),
        make("Squeeze", ["cast", "squeeze.axes"], ["image"], name="squeeze"),
        make("Expand", ["mean", "expand.shape"], ["e"], name="expand"),
        make("Flatten", ["e"], ["flat"], name="flatten", axis=1),
        make("Clip", ["flat", "clip.min", "clip.max"], ["clipped"], name="clip"),
    ]
    graph = helper.make_graph(
        nodes,
        "reshaper",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 6])],
        [
            helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 4, 8]),
            helper.make_tensor_value_info("clipped", TensorProto.FLOAT, [1, 12]),
        ],
        [numpy_helper.from_array(value, name) for name, value in constants.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


SEED_MODELS = {"mlp": tiny_mlp, "cnn": tiny_cnn, "reshaper": tiny_reshaper}


@cache
def seed_model_bytes(name: str) -> bytes:
    return SEED_MODELS[name]().SerializeToString()


@cache
def seed_graph_ir() -> tuple[str, bytes]:
    """The tiny CNN imported: its graph-dialect text and its params file's bytes."""
    from ziggurat.core.context import ir_text
    from ziggurat.frontend.onnx.importer import from_onnx
    from ziggurat.runtime.params import save_params

    module, params = from_onnx(tiny_cnn())
    stream = io.BytesIO()
    save_params(stream, params)
    return ir_text(module), stream.getvalue()


def seed_params_bytes() -> bytes:
    return seed_graph_ir()[1]


HAND_WRITTEN_IR = """\
func.func @main(%x: tensor<4xf32>) -> tensor<2x2xf32> {
  %one = graph.constant dense<1.0> : tensor<f32>
  %zero = graph.constant dense<0.0> : tensor<f32>
  %0 = graph.mul %x, %one : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %1 = graph.add %zero, %0 : (tensor<f32>, tensor<4xf32>) -> tensor<4xf32>
  %2 = graph.relu %1 : tensor<4xf32>
  %3 = graph.div %2, %one : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %4 = graph.reshape %3 : tensor<4xf32> -> tensor<2x2xf32>
  func.return %4 : tensor<2x2xf32>
}
"""


def seed_ir_texts() -> list[str]:
    return [seed_graph_ir()[0], HAND_WRITTEN_IR]


@cache
def seed_package_bytes() -> bytes:
    """The tiny MLP compiled for the fuzz target and exported as a `.zgt`."""
    from ziggurat.builder import build
    from ziggurat.frontend.onnx.importer import from_onnx

    module, params = from_onnx(tiny_mlp())
    lib = build(module, target=FUZZ_TARGET, params=params, opt_level=1)
    with tempfile.TemporaryDirectory() as folder:
        return lib.export_library(Path(folder) / "seed.zgt").read_bytes()


@cache
def seed_tuning_lines() -> tuple[str, ...]:
    """Log lines for the tiny MLP's kernels on the fuzz target, as the tuner writes them: per
    kernel its default config, another config of its space, and a failed measurement."""
    import hashlib

    from ziggurat.frontend.onnx.importer import from_onnx
    from ziggurat.tune.records import (
        ErrorCode,
        MeasureRecord,
        MeasureResult,
        TargetInfo,
        Workload,
        encode,
    )
    from ziggurat.tune.tasks import extract_tasks

    module, params = from_onnx(tiny_mlp())
    lines: list[str] = []
    for task in extract_tasks(module, FUZZ_TARGET, params, opt_level=3):
        workload = Workload(
            task.key,
            task.name,
            tuple(a.shape for a in task.arguments),
            tuple(a.dtype for a in task.arguments),
            hashlib.sha256(task.kernel_ir.encode()).hexdigest(),
            task.default,
        )
        configs = [task.default, list(task.space)[-1], list(task.space)[0]]
        for config, costs, code in zip(
            configs,
            [(2e-6,), (1e-6, 1.1e-6), ()],
            [ErrorCode.NO_ERROR, ErrorCode.NO_ERROR, ErrorCode.RUNTIME_ERROR],
            strict=True,
        ):
            error = "" if code == ErrorCode.NO_ERROR else "boom"
            result = MeasureResult(costs, code, error, 0.5, 0.25, 1.7e9)
            target = TargetInfo.of(task.target)
            record = MeasureRecord(workload, target, config, "", result, "")
            lines.append(encode(record))
    return tuple(lines)


def seed_tuning_log() -> str:
    return "".join(line + "\n" for line in seed_tuning_lines())
