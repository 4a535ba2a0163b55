"""numpy semantics of graph.recurrence (the time loop of LSTM, GRU and RNN), written from the
ONNX equations step by step, for the reference interpreter."""

from collections.abc import Callable, Sequence

import numpy as np

from ziggurat.dialects import graph

Activation = Callable[[np.ndarray], np.ndarray]


def activation(name: str, alpha: float, beta: float) -> Activation:
    """The ONNX activation function `name` with its alpha and beta."""
    a, b = np.float32(alpha), np.float32(beta)
    functions: dict[str, Activation] = {
        "Relu": lambda x: np.maximum(x, 0),
        "Tanh": np.tanh,
        "Sigmoid": lambda x: 1 / (1 + np.exp(-x)),
        "Affine": lambda x: a * x + b,
        "LeakyRelu": lambda x: np.where(x >= 0, x, a * x),
        "ThresholdedRelu": lambda x: np.where(x > a, x, 0),
        "ScaledTanh": lambda x: a * np.tanh(b * x),
        "HardSigmoid": lambda x: np.clip(a * x + b, 0, 1),
        "Elu": lambda x: np.where(x >= 0, x, a * (np.exp(x) - 1)),
        "Softsign": lambda x: x / (1 + np.abs(x)),
        "Softplus": lambda x: np.log1p(np.exp(x)),
    }
    return functions[name]


def _cell_step(
    op: graph.RecurrenceOp,
    funcs: Sequence[Activation],
    x: np.ndarray,
    recurrent: np.ndarray,
    recurrent_bias: np.ndarray,
    peepholes: np.ndarray,
    h: np.ndarray,
    c: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """One step of one direction: x [B, G*H] (projected input with biases), h and c [B, H]."""
    size = op.hidden
    clip = None if op.clip is None else op.clip.value.data

    def clipped(v: np.ndarray) -> np.ndarray:
        return v if clip is None else np.clip(v, -clip, clip)

    def part(v: np.ndarray, n: int) -> np.ndarray:
        return v[:, n * size : (n + 1) * size]

    cell = op.cell.data
    if cell == "rnn":
        return funcs[0](clipped(x + h @ recurrent)), c
    if cell == "gru":
        f, g = funcs
        product = h @ recurrent
        z = f(clipped(part(x, 0) + part(product, 0)))
        r = f(clipped(part(x, 1) + part(product, 1)))
        if op.linear_before_reset is not None:
            candidate = part(x, 2) + r * (part(product, 2) + recurrent_bias)
        else:
            candidate = part(x, 2) + (r * h) @ recurrent[:, 2 * size :]
        return (1 - z) * g(clipped(candidate)) + z * h, c
    f, g, h_func = funcs
    product = x + h @ recurrent
    p_i, p_o, p_f = (peepholes[n * size : (n + 1) * size] for n in range(3))
    i = f(clipped(part(product, 0) + p_i * c))
    forget = 1 - i if op.input_forget is not None else f(clipped(part(product, 2) + p_f * c))
    c_new = forget * c + i * g(clipped(part(product, 3)))
    o = f(clipped(part(product, 1) + p_o * c_new))
    return o * h_func(c_new), c_new


def recurrence(
    op: graph.RecurrenceOp,
    gates: np.ndarray,
    recurrent_packed: np.ndarray,
    recurrent_bias: np.ndarray,
    peepholes: np.ndarray,
    initial_h: np.ndarray,
    initial_c: np.ndarray,
    sequence_lens: np.ndarray,
) -> np.ndarray:
    batch = initial_h.shape[1]
    steps = gates.shape[0] // max(batch, 1)
    gates = gates.reshape(steps, batch, -1)
    d, blocks, hidden, block = recurrent_packed.shape
    recurrent_t = recurrent_packed.transpose(0, 2, 1, 3).reshape(d, hidden, blocks * block)
    directions, size = op.directions, op.hidden
    width = op.gate_count * size
    per_direction = len(op.activations.data) // directions
    specs = op.activation_list()
    out = np.zeros((steps + 2, directions, batch, size), np.float32)
    for d in range(directions):
        reverse = op.direction.data == "reverse" or d == 1
        funcs = [activation(*spec) for spec in specs[d * per_direction : (d + 1) * per_direction]]
        for b in range(batch):
            length = int(sequence_lens[b])
            h, c = initial_h[d, b][None], initial_c[d, b][None]
            for s in range(length):
                t = length - 1 - s if reverse else s
                x = gates[t, b, d * width : (d + 1) * width][None]
                h, c = _cell_step(
                    op, funcs, x, recurrent_t[d], recurrent_bias[d], peepholes[d], h, c
                )
                out[t, d, b] = h[0]
            if length > 0:
                out[steps, d, b] = h[0]
                out[steps + 1, d, b] = c[0] if op.cell.data == "lstm" else 0
    return out
