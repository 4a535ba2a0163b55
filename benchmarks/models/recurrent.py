"""Recurrent models written the way exporters write them, fixed-seed weights:

- `crnn`: a text recognizer (CRNN, PaddleOCR's shape): a small conv stem over a 32 x 128
  grey image down to one row of 64 columns, the columns as a sequence (Squeeze, Transpose to
  [T, B, C]), then two bidirectional LSTM layers of hidden 256, each followed by
  Transpose[0,2,1,3] + Reshape[0,0,-1] as torch.onnx writes them, and a linear classifier;
- `gru_speech`: a streaming acoustic model: batch-first features [1, 32, 80] through a
  linear layer, two GRU layers of hidden 256 (linear_before_reset=1, as PyTorch exports)
  whose states come in as inputs and go out as outputs, and a linear classifier.
"""

import numpy as np
import onnx
from onnx import TensorProto, helper

from benchmarks.models.builder import GraphBuilder

CRNN_SHAPES = {"image": (1, 1, 32, 128)}
GRU_SPEECH_SHAPES = {"features": (1, 32, 80), "state_in": (2, 1, 256)}


def _lstm_layer(g: GraphBuilder, x: str, name: str, features: int, hidden: int) -> str:
    """A bidirectional LSTM, then [T, 2, B, H] -> [T, B, 2H] as torch.onnx writes it."""
    scale = 1 / np.sqrt(hidden)
    w = g.weight(f"{name}.w", (2, 4 * hidden, features), scale)
    r = g.weight(f"{name}.r", (2, 4 * hidden, hidden), scale)
    b = g.weight(f"{name}.b", (2, 8 * hidden), scale)
    g.nodes.append(
        helper.make_node(
            "LSTM",
            [x, w, r, b],
            [f"{name}.y"],
            name=f"/{name}/LSTM",
            hidden_size=hidden,
            direction="bidirectional",
        )
    )
    y = g.node("Transpose", [f"{name}.y"], f"{name}.yt", perm=[0, 2, 1, 3])
    shape = g.constant(f"{name}.shape", np.array([0, 0, -1], np.int64))
    return g.node("Reshape", [y, shape], f"{name}.out")


def crnn(seed: int = 0) -> onnx.ModelProto:
    g = GraphBuilder(seed)
    x = "image"
    channels = [1, 64, 128, 256]
    pools = [(2, 2), (2, 1), (8, 1)]
    for n, pool in enumerate(pools):
        fan_in = channels[n] * 9
        w = g.weight(f"conv{n}.weight", (channels[n + 1], channels[n], 3, 3), np.sqrt(2 / fan_in))
        bias = g.weight(f"conv{n}.bias", (channels[n + 1],), 0.05)
        x = g.node("Conv", [x, w, bias], f"conv{n}", pads=[1, 1, 1, 1])
        x = g.node("Relu", [x], f"relu{n}")
        x = g.node("MaxPool", [x], f"pool{n}", kernel_shape=list(pool), strides=list(pool))
    axes = g.constant("squeeze.axes", np.array([2], np.int64))
    x = g.node("Squeeze", [x, axes], "columns")
    x = g.node("Transpose", [x], "sequence", perm=[2, 0, 1])
    x = _lstm_layer(g, x, "lstm0", 256, 256)
    x = _lstm_layer(g, x, "lstm1", 512, 256)
    classes = g.weight("fc.weight", (512, 97), 1 / np.sqrt(512))
    logits = g.node("MatMul", [x, classes], "logits")
    graph = helper.make_graph(
        g.nodes,
        "crnn",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, list(CRNN_SHAPES["image"]))],
        [helper.make_tensor_value_info(logits, TensorProto.FLOAT, None)],
        g.initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def gru_speech(seed: int = 0) -> onnx.ModelProto:
    g = GraphBuilder(seed)
    hidden = 256
    proj = g.weight("proj.weight", (80, hidden), 1 / np.sqrt(80))
    x = g.node("MatMul", ["features", proj], "projected")
    x = g.node("Relu", [x], "projected_relu")
    x = g.node("Transpose", [x], "time_major", perm=[1, 0, 2])
    states = []
    for layer in range(2):
        scale = 1 / np.sqrt(hidden)
        w = g.weight(f"gru{layer}.w", (1, 3 * hidden, hidden), scale)
        r = g.weight(f"gru{layer}.r", (1, 3 * hidden, hidden), scale)
        b = g.weight(f"gru{layer}.b", (1, 6 * hidden), scale)
        start = g.constant(f"gru{layer}.start", np.array([layer], np.int64))
        end = g.constant(f"gru{layer}.end", np.array([layer + 1], np.int64))
        h0 = g.node("Slice", ["state_in", start, end], f"gru{layer}.h0")
        g.nodes.append(
            helper.make_node(
                "GRU",
                [x, w, r, b, "", h0],
                [f"gru{layer}.y", f"gru{layer}.h"],
                name=f"/gru{layer}/GRU",
                hidden_size=hidden,
                linear_before_reset=1,
            )
        )
        axes = g.constant(f"gru{layer}.axes", np.array([1], np.int64))
        x = g.node("Squeeze", [f"gru{layer}.y", axes], f"gru{layer}.out")
        states.append(f"gru{layer}.h")
    g.node("Concat", states, "state_out", axis=0)
    x = g.node("Transpose", [x], "batch_major", perm=[1, 0, 2])
    classes = g.weight("fc.weight", (hidden, 40), 1 / np.sqrt(hidden))
    logits = g.node("MatMul", [x, classes], "logits")
    graph = helper.make_graph(
        g.nodes,
        "gru_speech",
        [
            helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))
            for name, shape in GRU_SPEECH_SHAPES.items()
        ],
        [
            helper.make_tensor_value_info(logits, TensorProto.FLOAT, None),
            helper.make_tensor_value_info("state_out", TensorProto.FLOAT, None),
        ],
        g.initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
