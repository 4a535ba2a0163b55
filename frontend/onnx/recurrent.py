"""ONNX LSTM, GRU and RNN: the input projection as one GEMM over all steps, then the time loop.

X [T*B, I] times W^T [I, D*G*H] plus the biases that add outside the gate functions is a
graph.matmul and a graph.add, so it runs as one tiled GEMM for all steps and directions;
graph.recurrence then runs the serial part. R is packed in column blocks and the biases are
summed here when they are constants (the usual case: weights are initializers), so nothing
is repacked per run; otherwise the same rearrangement is made of graph ops.
"""

from typing import Any

import numpy as np
import onnx
from xdsl.dialects.builtin import f32, i32
from xdsl.ir import SSAValue

from ziggurat.dialects import graph
from ziggurat.dialects.graph.recurrence import (
    ACTIVATIONS,
    CELL_ACTIVATIONS,
    CELL_GATES,
    column_block,
    pack_recurrent,
)
from ziggurat.frontend.onnx.context import ImportContext, required
from ziggurat.frontend.onnx.registry import OnnxOpConverter, register

DEFAULT_ACTIVATIONS = {
    "lstm": ["Sigmoid", "Tanh", "Tanh"],
    "gru": ["Sigmoid", "Tanh"],
    "rnn": ["Tanh"],
}

TAKES_ALPHA_BETA = {
    "Affine": (True, True),
    "LeakyRelu": (True, False),
    "ThresholdedRelu": (True, False),
    "ScaledTanh": (True, True),
    "HardSigmoid": (True, True),
    "Elu": (True, False),
}
"""Which of alpha and beta each activation consumes from activation_alpha/beta, in order."""

DEFAULT_ALPHA_BETA = {"LeakyRelu": (0.01, 0.0), "HardSigmoid": (0.2, 0.5), "Elu": (1.0, 0.0)}
"""Values when the lists run out (onnxruntime's; the others default to 0)."""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _activations(
    ctx: ImportContext, cell: str, directions: int, attrs: dict[str, Any]
) -> list[tuple[str, float, float]]:
    names = [_text(a) for a in attrs.get("activations", [])]
    if not names:
        names = DEFAULT_ACTIVATIONS[cell] * directions
    expected = CELL_ACTIVATIONS[cell] * directions
    if len(names) != expected:
        raise ctx.error(f"takes {expected} activations, got {len(names)}: {names}")
    canonical = {name.lower(): name for name in ACTIVATIONS}
    alphas = [float(a) for a in attrs.get("activation_alpha", [])]
    betas = [float(b) for b in attrs.get("activation_beta", [])]
    result: list[tuple[str, float, float]] = []
    for name in names:
        known = canonical.get(name.lower())
        if known is None:
            raise ctx.unsupported(f"activation {name!r} is not one of {list(ACTIVATIONS)}")
        takes_alpha, takes_beta = TAKES_ALPHA_BETA.get(known, (False, False))
        alpha, beta = DEFAULT_ALPHA_BETA.get(known, (0.0, 0.0))
        if takes_alpha and alphas:
            alpha = alphas.pop(0)
        if takes_beta and betas:
            beta = betas.pop(0)
        result.append((known, alpha, beta))
    return result


def _zeros(shape: tuple[int, ...]) -> SSAValue:
    return graph.ConstantOp(graph.dense_tensor(f32, shape, [0.0])).result


def _full_lengths(steps: int, batch: int) -> SSAValue:
    return graph.ConstantOp(graph.dense_tensor(i32, (batch,), [steps])).result


def _check_shape(ctx: ImportContext, name: str, value: SSAValue, shape: tuple[int, ...]) -> None:
    actual = graph.tensor_shape(value)
    if actual != shape:
        raise ctx.error(f"input {name} has shape {list(actual)}, expected {list(shape)}")


class _Recurrent(OnnxOpConverter):
    """LSTM, GRU and RNN share everything but the cell (`cell`, a key of CELL_GATES)."""

    cell = ""

    @classmethod
    def _impl_v1(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        x, w, r = (required(ctx, node, n) for n in range(3))
        for name, value in (("X", x), ("W", w), ("R", r)):
            if graph.element_type_of(value) != f32:
                raise ctx.unsupported(f"input {name} is not float32")
        if len(graph.tensor_shape(x)) != 3 or len(graph.tensor_shape(r)) != 3:
            raise ctx.error("X, W and R must have rank 3")
        direction = _text(attrs.get("direction", "forward"))
        if direction not in ("forward", "reverse", "bidirectional"):
            raise ctx.error(f"direction {direction!r} is not forward, reverse or bidirectional")
        layout = int(attrs.get("layout", 0))
        if layout not in (0, 1):
            raise ctx.error(f"layout must be 0 or 1, got {layout}")
        if layout == 1:
            x = graph.TransposeOp(x, (1, 0, 2)).result
        steps, batch, features = graph.tensor_shape(x)
        if steps == 0 or batch == 0:
            raise ctx.unsupported("an empty sequence or batch is not supported")
        directions = 2 if direction == "bidirectional" else 1
        size = int(attrs.get("hidden_size", graph.tensor_shape(r)[-1]))
        width = CELL_GATES[cls.cell] * size
        _check_shape(ctx, "W", w, (directions, width, features))
        _check_shape(ctx, "R", r, (directions, width, size))
        lbr = cls.cell == "gru" and bool(attrs.get("linear_before_reset", 0))
        gates, recurrent_bias = cls._projection(ctx, node, x, w, directions, size, lbr)
        operands = [
            gates,
            cls._recurrent_packed(ctx, node, r, column_block(cls.cell, size, lbr)),
            recurrent_bias,
            cls._optional(ctx, node, 7, (directions, 3 * size), 0, "P"),
            cls._optional(ctx, node, 5, (directions, batch, size), layout, "initial_h"),
            cls._optional(ctx, node, 6, (directions, batch, size), layout, "initial_c"),
            cls._sequence_lens(ctx, node, steps, batch),
        ]
        clip = attrs.get("clip")
        recurrence = graph.RecurrenceOp(
            operands,
            cls.cell,
            direction,
            _activations(ctx, cls.cell, directions, attrs),
            clip=None if clip is None else float(clip),
            input_forget=cls.cell == "lstm" and bool(attrs.get("input_forget", 0)),
            linear_before_reset=lbr,
        ).result
        state = (directions, batch, size)
        y = graph.SliceOp(recurrence, (0, 0, 0, 0), (1, 1, 1, 1), (steps, *state)).result
        y_h = graph.SliceOp(recurrence, (steps, 0, 0, 0), (1, 1, 1, 1), (1, *state)).result
        y_c = graph.SliceOp(recurrence, (steps + 1, 0, 0, 0), (1, 1, 1, 1), (1, *state)).result
        y_h, y_c = graph.ReshapeOp(y_h, state).result, graph.ReshapeOp(y_c, state).result
        if layout == 1:
            y = graph.TransposeOp(y, (2, 0, 1, 3)).result
            y_h = graph.TransposeOp(y_h, (1, 0, 2)).result
            y_c = graph.TransposeOp(y_c, (1, 0, 2)).result
        results: list[SSAValue] = [y, y_h, y_c]
        return results[: len(node.output)]

    @classmethod
    def _projection(
        cls,
        ctx: ImportContext,
        node: onnx.NodeProto,
        x: SSAValue,
        w: SSAValue,
        directions: int,
        size: int,
        lbr: bool,
    ) -> tuple[SSAValue, SSAValue]:
        """X W^T plus the summed biases, [T*B, D*G*H], and GRU's Rbh when it stays inside
        the reset gate's product (`lbr`), else zeros."""
        steps, batch, features = graph.tensor_shape(x)
        width = CELL_GATES[cls.cell] * size
        rows = graph.ReshapeOp(x, (steps * batch, features)).result
        weight = ctx.constant_input(node, 1)
        flat_w = (
            ctx.tensor(weight.reshape(directions * width, features), f"{node.input[1]}_flat")
            if weight is not None
            else graph.ReshapeOp(w, (directions * width, features)).result
        )
        product = graph.MatmulOp(rows, flat_w, transpose_b=True).result
        # Rbh stays apart under linear_before_reset: it is multiplied by the reset gate.
        mask = np.ones(width, np.float32)
        if lbr:
            mask[2 * size :] = 0
        bias_value = ctx.input(node, 3)
        recurrent_bias: SSAValue | None = None
        if bias_value is not None:
            _check_shape(ctx, "B", bias_value, (directions, 2 * width))
            bias = ctx.constant_input(node, 3)
            if bias is not None:
                summed = bias[:, :width] + bias[:, width:] * mask
                if lbr:
                    recurrent_bias = ctx.tensor(
                        np.ascontiguousarray(bias[:, width + 2 * size :]), f"{node.input[3]}_rbh"
                    )
                flat_bias = ctx.tensor(
                    summed.reshape(-1).astype(np.float32), f"{node.input[3]}_sum"
                )
            else:
                w_b = graph.SliceOp(bias_value, (0, 0), (1, 1), (directions, width)).result
                r_b = graph.SliceOp(bias_value, (0, width), (1, 1), (directions, width)).result
                if lbr:
                    recurrent_bias = graph.SliceOp(
                        bias_value, (0, width + 2 * size), (1, 1), (directions, size)
                    ).result
                    r_b = graph.MulOp(r_b, ctx.tensor(mask, f"{node.input[3]}_mask")).result
                both = graph.AddOp(w_b, r_b).result
                flat_bias = graph.ReshapeOp(both, (directions * width,)).result
            product = graph.AddOp(product, flat_bias).result
        if recurrent_bias is None:
            recurrent_bias = _zeros((directions, size))
        return product, recurrent_bias

    @classmethod
    def _recurrent_packed(
        cls, ctx: ImportContext, node: onnx.NodeProto, r: SSAValue, block: int
    ) -> SSAValue:
        """R as graph.recurrence reads it, [D, G*H/block, H, block] (`pack_recurrent`)."""
        constant = ctx.constant_input(node, 2)
        if constant is not None:
            return ctx.tensor(pack_recurrent(constant, block), f"{node.input[2]}_packed")
        d, width, hidden = graph.tensor_shape(r)
        blocks = graph.ReshapeOp(r, (d, width // block, block, hidden)).result
        return graph.TransposeOp(blocks, (0, 1, 3, 2)).result

    @classmethod
    def _optional(
        cls,
        ctx: ImportContext,
        node: onnx.NodeProto,
        index: int,
        shape: tuple[int, ...],
        layout: int,
        name: str,
    ) -> SSAValue:
        """An optional float input in the op's layout, zeros when omitted."""
        value = ctx.input(node, index) if cls.cell == "lstm" or index < 6 else None
        # initial_c and P are LSTM's: GRU and RNN have no such inputs.
        if value is None:
            return _zeros(shape)
        if graph.element_type_of(value) != f32:
            raise ctx.unsupported(f"input {name} is not float32")
        if layout == 1 and len(shape) == 3:
            value = graph.TransposeOp(value, (1, 0, 2)).result
        _check_shape(ctx, name, value, shape)
        return value

    @classmethod
    def _sequence_lens(
        cls, ctx: ImportContext, node: onnx.NodeProto, steps: int, batch: int
    ) -> SSAValue:
        """sequence_lens, or T for every entry when omitted (a splat the kernel needs no
        masking for)."""
        value = ctx.input(node, 4)
        if value is None:
            return _full_lengths(steps, batch)
        if graph.element_type_of(value) != i32:
            raise ctx.error("input sequence_lens must be int32")
        _check_shape(ctx, "sequence_lens", value, (batch,))
        constant = ctx.constant_input(node, 4)
        if constant is not None:
            if constant.min(initial=steps) < 0 or constant.max(initial=0) > steps:
                raise ctx.error(f"sequence_lens {constant.tolist()} leave [0, {steps}]")
            if (constant == steps).all():
                return _full_lengths(steps, batch)
        return value


@register("LSTM")
class Lstm(_Recurrent):
    cell = "lstm"


@register("GRU")
class Gru(_Recurrent):
    cell = "gru"


@register("RNN")
class Rnn(_Recurrent):
    cell = "rnn"
