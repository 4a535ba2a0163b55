"""Built-in example models, made with onnx.helper and fixed-seed weights: the quick start
compiles one, and tests and benchmarks reuse them."""

from collections.abc import Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MLP_SIZES = (784, 512, 512, 10)


def mlp_model(batch: int = 1, sizes: Sequence[int] = MLP_SIZES, seed: int = 0) -> onnx.ModelProto:
    """An MLP as PyTorch exports it: Gemm (transB=1) + Relu per hidden layer, then Softmax.

    Input "input" of shape (batch, sizes[0]); output "probabilities" of (batch, sizes[-1]).
    """
    rng = np.random.default_rng(seed)
    nodes: list[onnx.NodeProto] = []
    initializers: list[onnx.TensorProto] = []
    current = "input"
    layers = list(zip(sizes[:-1], sizes[1:], strict=True))
    for n, (fan_in, fan_out) in enumerate(layers):
        bound = 1.0 / np.sqrt(fan_in)
        weight = rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32)
        bias = rng.uniform(-bound, bound, fan_out).astype(np.float32)
        initializers += [
            numpy_helper.from_array(weight, f"fc{n}.weight"),
            numpy_helper.from_array(bias, f"fc{n}.bias"),
        ]
        gemm_out = f"fc{n}_out"
        nodes.append(
            helper.make_node(
                "Gemm",
                [current, f"fc{n}.weight", f"fc{n}.bias"],
                [gemm_out],
                name=f"/fc{n}/Gemm",
                transB=1,
            )
        )
        current = gemm_out
        if n < len(layers) - 1:
            nodes.append(
                helper.make_node("Relu", [current], [f"relu{n}_out"], name=f"/relu{n}/Relu")
            )
            current = f"relu{n}_out"
    nodes.append(
        helper.make_node("Softmax", [current], ["probabilities"], name="/softmax/Softmax", axis=1)
    )
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, sizes[0]])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [batch, sizes[-1]])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model
