"""Small ONNX models for tests, built with onnx.helper and fixed-seed weights."""

from collections.abc import Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ziggurat.examples import mlp_model

__all__ = ["make_model", "mlp_model", "onnxruntime_outputs", "random_inputs"]


def make_model(
    nodes: Sequence[onnx.NodeProto],
    inputs: dict[str, Sequence[int | str]],
    outputs: dict[str, Sequence[int | str] | None],
    initializers: dict[str, np.ndarray] | None = None,
    opset: int = 17,
) -> onnx.ModelProto:
    graph = helper.make_graph(
        list(nodes),
        "test",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs.items()],
        [numpy_helper.from_array(v, n) for n, v in (initializers or {}).items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


def random_inputs(shapes: dict[str, Sequence[int]], seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {n: rng.standard_normal(s).astype(np.float32) for n, s in shapes.items()}


def onnxruntime_outputs(model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
    import onnxruntime

    session = onnxruntime.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return session.run(None, inputs)


MATMUL_RELU = """
func.func @main(%a: tensor<64x128xf32> {graph.name = "a"}, %b: tensor<128x96xf32> {graph.name = "b"}) -> (tensor<64x96xf32> {graph.name = "y"}) {
  %0 = graph.matmul %a, %b : (tensor<64x128xf32>, tensor<128x96xf32>) -> tensor<64x96xf32>
  %1 = graph.relu %0 : tensor<64x96xf32>
  func.return %1 : tensor<64x96xf32>
}
"""
"""64x128 by 128x96 matmul and a relu in the graph dialect: the kernel the tuning tests tune."""
