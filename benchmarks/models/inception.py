"""Inception v2 (BN-Inception, Ioffe and Szegedy 2015, the ONNX model zoo's inception-v2): a
7x7/2 stem, 1x1 and 3x3 convolutions, then ten inception modules. Each module concatenates
a 1x1 branch, a 1x1 -> 3x3 branch, a 1x1 -> 3x3 -> 3x3 branch and a pooling branch (average
or max pooling, then a 1x1 projection); the reducing modules (3c, 4e) drop the 1x1 and
projection branches and stride their 3x3s. Every convolution carries a batch norm and ReLU.
Many branch widths: many distinct kernels to build."""

import numpy as np
import onnx

from benchmarks.models.builder import GraphBuilder

MODULES: tuple[tuple[str, int, int, int, int, int, int, str, int], ...] = (
    # name, 1x1, 3x3 reduce, 3x3, double reduce, double 3x3, pool projection, pool, stride
    ("3a", 64, 64, 64, 64, 96, 32, "avg", 1),
    ("3b", 64, 64, 96, 64, 96, 64, "avg", 1),
    ("3c", 0, 128, 160, 64, 96, 0, "max", 2),
    ("4a", 224, 64, 96, 96, 128, 128, "avg", 1),
    ("4b", 192, 96, 128, 96, 128, 128, "avg", 1),
    ("4c", 160, 128, 160, 128, 160, 128, "avg", 1),
    ("4d", 96, 128, 192, 160, 192, 128, "avg", 1),
    ("4e", 0, 128, 192, 192, 256, 0, "max", 2),
    ("5a", 352, 192, 320, 160, 224, 128, "avg", 1),
    ("5b", 352, 192, 320, 192, 224, 128, "max", 1),
)


def _conv(
    g: GraphBuilder, x: str, prefix: str, c_in: int, c_out: int, kernel: int, stride: int = 1
) -> str:
    return g.node("Relu", [g.conv_bn(x, prefix, c_in, c_out, kernel, stride)], f"{prefix}/relu")


def _module(
    g: GraphBuilder,
    x: str,
    c_in: int,
    spec: tuple[str, int, int, int, int, int, int, str, int],
) -> tuple[str, int]:
    name, one, reduce3, three, reduce_d, double, project, pool, stride = spec
    prefix = f"inception_{name}"
    branches: list[str] = []
    if one:
        branches.append(_conv(g, x, f"{prefix}.1x1", c_in, one, 1))
    h = _conv(g, x, f"{prefix}.3x3_reduce", c_in, reduce3, 1)
    branches.append(_conv(g, h, f"{prefix}.3x3", reduce3, three, 3, stride))
    h = _conv(g, x, f"{prefix}.double_3x3_reduce", c_in, reduce_d, 1)
    h = _conv(g, h, f"{prefix}.double_3x3_1", reduce_d, double, 3)
    branches.append(_conv(g, h, f"{prefix}.double_3x3_2", double, double, 3, stride))
    pool_op = "AveragePool" if pool == "avg" else "MaxPool"
    pooled = g.node(
        pool_op,
        [x],
        f"{prefix}.pool",
        kernel_shape=[3, 3],
        strides=[stride, stride],
        pads=[1, 1, 1, 1],
        **({"count_include_pad": 1} if pool == "avg" else {}),
    )
    if project:
        branches.append(_conv(g, pooled, f"{prefix}.pool_proj", c_in, project, 1))
    else:
        branches.append(pooled)
    c_out = one + three + double + (project or c_in)
    return g.node("Concat", branches, f"{prefix}/concat", axis=1), c_out


def inception_v2(
    batch: int = 1, image: int = 224, classes: int = 1000, seed: int = 0
) -> onnx.ModelProto:
    """Input "input" (batch, 3, image, image) -> "logits" (batch, classes)."""
    g = GraphBuilder(seed)
    x = _conv(g, "input", "conv1.7x7_s2", 3, 64, 7, 2)
    x = g.node("MaxPool", [x], "pool1", kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 1, 1])
    x = _conv(g, x, "conv2.3x3_reduce", 64, 64, 1)
    x = _conv(g, x, "conv2.3x3", 64, 192, 3)
    x = g.node("MaxPool", [x], "pool2", kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 1, 1])
    channels = 192
    for spec in MODULES:
        x, channels = _module(g, x, channels, spec)
    x = g.node("Flatten", [g.node("GlobalAveragePool", [x], "avgpool")], "flatten", axis=1)
    w = g.weight("fc.weight", (classes, channels), 1 / np.sqrt(channels))
    b = g.weight("fc.bias", (classes,), 0.01)
    g.node("Gemm", [x, w, b], "logits", transB=1)
    return g.model("inception_v2", {"input": [batch, 3, image, image]}, "logits", opset=13)
