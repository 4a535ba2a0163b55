"""MobileNetV2 as torchvision defines it and torch.onnx exports it: inverted residual
blocks of 1x1 expansion, 3x3 depthwise and 1x1 projection convolutions with ReLU6 (Clip)."""

import numpy as np
import onnx

from benchmarks.models.builder import GraphBuilder

SETTINGS = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
]
"""(expansion, output channels, repeats, first stride) per stage."""


def _relu6(g: GraphBuilder, x: str, name: str) -> str:
    return g.node("Clip", [x, "relu6.min", "relu6.max"], name)


def mobilenet_v2(
    batch: int = 1, image: int = 224, classes: int = 1000, seed: int = 0
) -> onnx.ModelProto:
    """Input "input" (batch, 3, image, image) -> "logits" (batch, classes)."""
    g = GraphBuilder(seed)
    g.constant("relu6.min", np.array(0.0, np.float32))
    g.constant("relu6.max", np.array(6.0, np.float32))
    x = _relu6(g, g.conv_bn("input", "features.0", 3, 32, 3, 2), "features.0/relu6")
    c_in, index = 32, 1
    for expansion, c_out, repeats, first_stride in SETTINGS:
        for r in range(repeats):
            stride = first_stride if r == 0 else 1
            prefix = f"features.{index}"
            hidden = c_in * expansion
            h = x
            if expansion != 1:
                h = _relu6(
                    g, g.conv_bn(h, f"{prefix}.expand", c_in, hidden, 1), f"{prefix}/expand/relu6"
                )
            h = _relu6(
                g,
                g.conv_bn(h, f"{prefix}.depthwise", hidden, hidden, 3, stride, groups=hidden),
                f"{prefix}/dw/relu6",
            )
            h = g.conv_bn(h, f"{prefix}.project", hidden, c_out, 1)
            x = g.node("Add", [x, h], f"{prefix}/add") if stride == 1 and c_in == c_out else h
            c_in, index = c_out, index + 1
    x = _relu6(g, g.conv_bn(x, f"features.{index}", c_in, 1280, 1), "features.last/relu6")
    x = g.node("Flatten", [g.node("GlobalAveragePool", [x], "pool")], "flatten", axis=1)
    w = g.weight("classifier.weight", (classes, 1280), 1 / np.sqrt(1280))
    b = g.weight("classifier.bias", (classes,), 0.01)
    g.node("Gemm", [x, w, b], "logits", transB=1)
    return g.model("mobilenet_v2", {"input": [batch, 3, image, image]}, "logits", opset=13)
