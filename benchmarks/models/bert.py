"""A BERT-style encoder as PyTorch exports it: per layer, multi-head self-attention (MatMul,
Reshape, Transpose, scaled Softmax) and a GELU feed-forward block (Erf form), each with a
residual Add and LayerNormalization."""

import numpy as np
import onnx
from onnx import TensorProto, helper

from benchmarks.models.builder import GraphBuilder


def _dense(g: GraphBuilder, x: str, prefix: str, fan_in: int, fan_out: int) -> str:
    w = g.weight(f"{prefix}.weight", (fan_in, fan_out), 1.0 / np.sqrt(fan_in))
    b = g.weight(f"{prefix}.bias", (fan_out,), 0.02)
    return g.node("Add", [g.node("MatMul", [x, w], f"{prefix}/matmul"), b], f"{prefix}/add")


def _layer_norm(g: GraphBuilder, x: str, prefix: str, hidden: int) -> str:
    gamma = g.constant(
        f"{prefix}.gamma", (1 + 0.1 * g.rng.standard_normal(hidden)).astype(np.float32)
    )
    beta = g.weight(f"{prefix}.beta", (hidden,), 0.1)
    return g.node("LayerNormalization", [x, gamma, beta], f"{prefix}/ln", axis=-1, epsilon=1e-12)


def _gelu(g: GraphBuilder, x: str, prefix: str) -> str:
    """x * 0.5 * (1 + erf(x / sqrt(2))), the way torch.onnx writes nn.GELU."""
    root2 = g.constant(f"{prefix}.sqrt2", np.array(np.sqrt(2.0), dtype=np.float32))
    one = g.constant(f"{prefix}.one", np.array(1.0, dtype=np.float32))
    half = g.constant(f"{prefix}.half", np.array(0.5, dtype=np.float32))
    erf = g.node("Erf", [g.node("Div", [x, root2], f"{prefix}/div")], f"{prefix}/erf")
    plus = g.node("Add", [erf, one], f"{prefix}/add1")
    return g.node("Mul", [g.node("Mul", [x, plus], f"{prefix}/mul"), half], f"{prefix}/mul1")


def bert_encoder(
    batch: int = 1,
    seq: int = 128,
    hidden: int = 128,
    heads: int = 2,
    layers: int = 2,
    seed: int = 0,
    symbolic_seq: bool = False,
) -> onnx.ModelProto:
    """Input "hidden_states" (batch, seq, hidden) -> output "encoded" of the same shape.
    With `symbolic_seq`, the sequence dim is the symbol "seq" (PyTorch's dynamic axes) and
    the head split and merge read (batch, seq) off the input: Shape -> Gather -> Concat."""
    g = GraphBuilder(seed)
    head_dim = hidden // heads
    if symbolic_seq:
        shape = g.node("Shape", ["hidden_states"], "shape/of_input")
        leading = g.constant("shape.leading", np.array([0, 1], dtype=np.int64))
        batch_seq = g.node("Gather", [shape, leading], "shape/batch_seq", axis=0)
        tail = g.constant("shape.head_tail", np.array([heads, head_dim], dtype=np.int64))
        width = g.constant("shape.hidden", np.array([hidden], dtype=np.int64))
        split = g.node("Concat", [batch_seq, tail], "shape/heads", axis=0)
        merge = g.node("Concat", [batch_seq, width], "shape/merge", axis=0)
    else:
        split = g.constant("shape.heads", np.array([batch, seq, heads, head_dim], dtype=np.int64))
        merge = g.constant("shape.merge", np.array([batch, seq, hidden], dtype=np.int64))
    scale = g.constant("scale", np.array(np.sqrt(head_dim), dtype=np.float32))
    x = "hidden_states"
    for n in range(layers):
        p = f"layer{n}"

        def heads_of(name: str, perm: list[int], p: str = p, x: str = x) -> str:
            projected = _dense(g, x, f"{p}.attention.{name}", hidden, hidden)
            reshaped = g.node("Reshape", [projected, split], f"{p}/{name}/reshape")
            return g.node("Transpose", [reshaped], f"{p}/{name}/transpose", perm=perm)

        q = heads_of("query", [0, 2, 1, 3])
        k = heads_of("key", [0, 2, 3, 1])
        v = heads_of("value", [0, 2, 1, 3])
        scores = g.node("Div", [g.node("MatMul", [q, k], f"{p}/scores"), scale], f"{p}/scaled")
        probs = g.node("Softmax", [scores], f"{p}/softmax", axis=-1)
        context = g.node("MatMul", [probs, v], f"{p}/context")
        context = g.node("Transpose", [context], f"{p}/context/transpose", perm=[0, 2, 1, 3])
        context = g.node("Reshape", [context, merge], f"{p}/context/reshape")
        attended = _dense(g, context, f"{p}.attention.output", hidden, hidden)
        x = _layer_norm(
            g, g.node("Add", [attended, x], f"{p}/residual1"), f"{p}.attention.ln", hidden
        )
        inner = _gelu(g, _dense(g, x, f"{p}.intermediate", hidden, 4 * hidden), f"{p}/gelu")
        output = _dense(g, inner, f"{p}.output", 4 * hidden, hidden)
        x = _layer_norm(g, g.node("Add", [output, x], f"{p}/residual2"), f"{p}.output.ln", hidden)
    g.nodes.append(helper.make_node("Identity", [x], ["encoded"], name="/output/Identity"))
    dims: int | str = "seq" if symbolic_seq else seq
    graph = helper.make_graph(
        g.nodes,
        "bert_encoder",
        [helper.make_tensor_value_info("hidden_states", TensorProto.FLOAT, [batch, dims, hidden])],
        [helper.make_tensor_value_info("encoded", TensorProto.FLOAT, [batch, dims, hidden])],
        g.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model
