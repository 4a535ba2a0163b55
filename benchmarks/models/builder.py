"""A small helper to write ONNX graphs the way exporters do: named nodes, initializers with
fixed-seed random values."""

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class GraphBuilder:
    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []

    def weight(self, name: str, shape: tuple[int, ...], scale: float) -> str:
        value = (self.rng.standard_normal(shape) * scale).astype(np.float32)
        return self.constant(name, value)

    def constant(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(value, name))
        return name

    def node(self, op: str, inputs: list[str], name: str, **attrs: object) -> str:
        self.nodes.append(helper.make_node(op, inputs, [name], name=f"/{name}/{op}", **attrs))
        return name

    def conv_bn(
        self,
        x: str,
        prefix: str,
        c_in: int,
        c_out: int,
        kernel: int,
        stride: int = 1,
        groups: int = 1,
    ) -> str:
        """Conv without bias, then BatchNormalization, as torch.onnx writes conv + bn."""
        fan_in = c_in // groups * kernel * kernel
        w = self.weight(
            f"{prefix}.weight", (c_out, c_in // groups, kernel, kernel), np.sqrt(2.0 / fan_in)
        )
        pad = kernel // 2
        conv = self.node(
            "Conv",
            [x, w],
            f"{prefix}/conv",
            kernel_shape=[kernel, kernel],
            strides=[stride, stride],
            pads=[pad] * 4,
            group=groups,
        )
        return self.batch_norm(conv, prefix, c_out)

    def batch_norm(self, x: str, prefix: str, channels: int) -> str:
        """BatchNormalization with running statistics, as torch.onnx exports it in eval mode."""
        c_out = channels
        gamma = self.constant(
            f"{prefix}.bn.weight", (1 + 0.1 * self.rng.standard_normal(c_out)).astype(np.float32)
        )
        beta = self.weight(f"{prefix}.bn.bias", (c_out,), 0.1)
        mean = self.weight(f"{prefix}.bn.running_mean", (c_out,), 0.1)
        var = self.constant(
            f"{prefix}.bn.running_var",
            (1 + 0.1 * np.abs(self.rng.standard_normal(c_out))).astype(np.float32),
        )
        return self.node(
            "BatchNormalization", [x, gamma, beta, mean, var], f"{prefix}/bn", epsilon=1e-5
        )

    def model(
        self, name: str, inputs: dict[str, list[int]], output: str, opset: int
    ) -> onnx.ModelProto:
        graph = helper.make_graph(
            self.nodes,
            name,
            [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()],
            [helper.make_tensor_value_info(output, TensorProto.FLOAT, None)],
            self.initializers,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        model.ir_version = 8
        return model
