"""DenseNet-121 as torchvision defines it and torch.onnx exports it: a conv + BN + ReLU stem and
max pool, four dense blocks (6, 12, 24, 16 layers; growth 32) whose layers are BN, ReLU, 1x1
conv to 128 channels, BN, ReLU, 3x3 conv to 32, each concatenated onto its block's input;
transitions of BN, ReLU, 1x1 conv halving the channels and 2x2 average pool; then BN, ReLU,
global average pool and the classifier. Pre-activation BNs do not fold into a convolution,
and each layer of a block sees another channel count: many distinct kernels to build."""

import numpy as np
import onnx

from benchmarks.models.builder import GraphBuilder

BLOCKS = (6, 12, 24, 16)
GROWTH = 32
BOTTLENECK = 4


def _bn_relu_conv(g: GraphBuilder, x: str, prefix: str, c_in: int, c_out: int, kernel: int) -> str:
    h = g.node("Relu", [g.batch_norm(x, f"{prefix}.norm", c_in)], f"{prefix}/relu")
    w = g.weight(
        f"{prefix}.weight", (c_out, c_in, kernel, kernel), np.sqrt(2.0 / (c_in * kernel**2))
    )
    pad = kernel // 2
    return g.node("Conv", [h, w], f"{prefix}/conv", kernel_shape=[kernel, kernel], pads=[pad] * 4)


def densenet121(
    batch: int = 1, image: int = 224, classes: int = 1000, seed: int = 0
) -> onnx.ModelProto:
    """Input "input" (batch, 3, image, image) -> "logits" (batch, classes)."""
    g = GraphBuilder(seed)
    x = g.node("Relu", [g.conv_bn("input", "features.conv0", 3, 64, 7, 2)], "features/relu0")
    x = g.node("MaxPool", [x], "pool0", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    channels = 64
    for block, layers in enumerate(BLOCKS, start=1):
        for layer in range(1, layers + 1):
            prefix = f"features.denseblock{block}.denselayer{layer}"
            h = _bn_relu_conv(g, x, f"{prefix}.1", channels, BOTTLENECK * GROWTH, 1)
            h = _bn_relu_conv(g, h, f"{prefix}.2", BOTTLENECK * GROWTH, GROWTH, 3)
            x = g.node("Concat", [x, h], f"{prefix}/concat", axis=1)
            channels += GROWTH
        if block < len(BLOCKS):
            prefix = f"features.transition{block}"
            x = _bn_relu_conv(g, x, prefix, channels, channels // 2, 1)
            x = g.node("AveragePool", [x], f"{prefix}/pool", kernel_shape=[2, 2], strides=[2, 2])
            channels //= 2
    x = g.node("Relu", [g.batch_norm(x, "features.norm5", channels)], "features/relu5")
    x = g.node("Flatten", [g.node("GlobalAveragePool", [x], "avgpool")], "flatten", axis=1)
    w = g.weight("classifier.weight", (classes, channels), 1 / np.sqrt(channels))
    b = g.weight("classifier.bias", (classes,), 0.01)
    g.node("Gemm", [x, w, b], "logits", transB=1)
    return g.model("densenet121", {"input": [batch, 3, image, image]}, "logits", opset=13)
