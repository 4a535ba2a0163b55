"""ResNet-18 as torchvision defines it and torch.onnx exports it: conv + BN + ReLU stem,
max pool, four stages of two basic blocks, global average pool, flatten, Gemm."""

import numpy as np
import onnx

from benchmarks.models.builder import GraphBuilder


def _basic_block(g: GraphBuilder, x: str, prefix: str, c_in: int, c_out: int, stride: int) -> str:
    h = g.node("Relu", [g.conv_bn(x, f"{prefix}.conv1", c_in, c_out, 3, stride)], f"{prefix}/relu1")
    h = g.conv_bn(h, f"{prefix}.conv2", c_out, c_out, 3)
    shortcut = x
    if stride != 1 or c_in != c_out:
        shortcut = g.conv_bn(x, f"{prefix}.downsample", c_in, c_out, 1, stride)
    return g.node("Relu", [g.node("Add", [h, shortcut], f"{prefix}/add")], f"{prefix}/relu2")


def resnet18(
    batch: int = 1, image: int = 224, classes: int = 1000, seed: int = 0
) -> onnx.ModelProto:
    """Input "input" (batch, 3, image, image) -> "logits" (batch, classes)."""
    g = GraphBuilder(seed)
    x = g.node("Relu", [g.conv_bn("input", "conv1", 3, 64, 7, 2)], "relu")
    x = g.node("MaxPool", [x], "maxpool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    c_in = 64
    for stage, c_out in enumerate((64, 128, 256, 512), start=1):
        for block in range(2):
            stride = 2 if stage > 1 and block == 0 else 1
            x = _basic_block(g, x, f"layer{stage}.{block}", c_in, c_out, stride)
            c_in = c_out
    x = g.node("Flatten", [g.node("GlobalAveragePool", [x], "avgpool")], "flatten", axis=1)
    w = g.weight("fc.weight", (classes, 512), 1 / np.sqrt(512))
    b = g.weight("fc.bias", (classes,), 0.01)
    g.node("Gemm", [x, w, b], "logits", transB=1)
    return g.model("resnet18", {"input": [batch, 3, image, image]}, "logits", opset=13)
