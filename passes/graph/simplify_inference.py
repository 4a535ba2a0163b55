"""graph-simplify-inference: fold inference-time affine layers into convolution weights.

Algorithm, for each graph.batch_norm:
1. If its input is a graph.conv used by nothing else, with constant weight and bias, and the
   batch norm's parameters are constant: scale = gamma / sqrt(var + eps) per output channel;
   the conv's weight becomes w * scale and its bias (b - mean) * scale + beta. The batch norm
   goes.
2. Otherwise, with constant parameters: it becomes x * scale + shift (a mul and an add by
   per-channel constants), which later passes can fuse.
Then a graph.mul or graph.add of a conv by a per-channel constant (shape [C, 1, ...] or
broadcastable to it, one value per output channel) folds into the conv's weight or bias.

Runs on the graph dialect after graph-fold-constants; needs the params store.
"""

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from ziggurat.core import statistics
from ziggurat.core.context import params_of
from ziggurat.dialects import graph
from ziggurat.passes.graph.constants import constant_value, make_constant


def _single_use(value: SSAValue) -> bool:
    return value.has_one_use()


def _conv_params(
    conv: graph.ConvOp, params: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray] | None:
    weight, bias = constant_value(conv.weight, params), constant_value(conv.bias, params)
    if weight is None or bias is None:
        return None
    return weight.astype(np.float32), np.broadcast_to(bias, (weight.shape[0],)).astype(np.float32)


def _replace_conv(
    conv: graph.ConvOp,
    weight: np.ndarray,
    bias: np.ndarray,
    params: dict[str, np.ndarray],
    result_of: Operation,
) -> None:
    """Replaces `result_of` (which consumes `conv`) by a conv with the new weight and bias."""
    new_weight = make_constant(weight, params, "folded_weight")
    new_bias = make_constant(bias, params, "folded_bias")
    folded = graph.ConvOp(
        conv.input,
        new_weight.results[0],
        new_bias.results[0],
        conv.stride_values,
        conv.pad_values,
        conv.dilation_values,
        conv.groups.value.data,
    )
    Rewriter.insert_op([new_weight, new_bias], InsertPoint.before(conv))
    Rewriter.replace_op(result_of, folded)
    if not conv.result.uses:
        Rewriter.erase_op(conv)


def _channel_vector(value: np.ndarray, channels: int, rank: int) -> np.ndarray | None:
    """`value` as one number per output channel, if it broadcasts to (1, C, 1, ...) exactly."""
    target = (1, channels, *([1] * (rank - 2)))
    if value.ndim > rank:
        return None
    try:
        if np.broadcast_shapes(value.shape, target) != target:
            return None
    except ValueError:
        return None
    return np.broadcast_to(value, target).reshape(channels).astype(np.float32)


@dataclass(frozen=True)
class GraphSimplifyInference(ModulePass):
    """Folds batch norms and per-channel scales and shifts into the preceding conv."""

    name = "graph-simplify-inference"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        params = params_of(ctx)
        for inner in list(op.walk()):
            if isinstance(inner, graph.BatchNormOp) and inner.parent is not None:
                self._batch_norm(inner, params)
        for inner in list(op.walk()):
            if isinstance(inner, graph.MulOp | graph.AddOp) and inner.parent is not None:
                self._channel_affine(inner, params)

    def _batch_norm(self, bn: graph.BatchNormOp, params: dict[str, np.ndarray]) -> None:
        values = [constant_value(v, params) for v in (bn.scale, bn.bias, bn.mean, bn.variance)]
        if any(v is None for v in values):
            return
        gamma, beta, mean, variance = (np.asarray(v, dtype=np.float64) for v in values)
        scale = gamma / np.sqrt(variance + bn.epsilon.value.data)
        shift = beta - mean * scale
        conv = bn.input.owner
        if isinstance(conv, graph.ConvOp) and _single_use(conv.result):
            found = _conv_params(conv, params)
            if found is not None:
                weight, bias = found
                shape = (-1, *([1] * (weight.ndim - 1)))
                _replace_conv(
                    conv,
                    (weight * scale.reshape(shape)).astype(np.float32),
                    (bias * scale + shift).astype(np.float32),
                    params,
                    bn,
                )
                statistics.count("batch-norms-folded")
                return
        rank = len(graph.tensor_shape(bn.input))
        shape = (len(scale), *([1] * (rank - 2)))
        scale_op = make_constant(scale.astype(np.float32).reshape(shape), params, "bn_scale")
        shift_op = make_constant(shift.astype(np.float32).reshape(shape), params, "bn_shift")
        scaled = graph.MulOp(bn.input, scale_op.results[0])
        shifted = graph.AddOp(scaled.result, shift_op.results[0])
        Rewriter.insert_op([scale_op, shift_op, scaled], InsertPoint.before(bn))
        Rewriter.replace_op(bn, shifted)
        statistics.count("batch-norms-to-affine")

    def _channel_affine(self, op: graph.MulOp | graph.AddOp, params: dict[str, np.ndarray]) -> None:
        conv, other = op.lhs.owner, op.rhs
        if not isinstance(conv, graph.ConvOp):
            conv, other = op.rhs.owner, op.lhs
        if (
            not isinstance(conv, graph.ConvOp)
            or not _single_use(conv.result)
            or op.result.type != conv.result.type
        ):
            return
        constant = constant_value(other, params)
        found = _conv_params(conv, params)
        if constant is None or found is None:
            return
        weight, bias = found
        vector = _channel_vector(constant, weight.shape[0], len(graph.tensor_shape(conv.result)))
        if vector is None:
            return
        if isinstance(op, graph.MulOp):
            shape = (-1, *([1] * (weight.ndim - 1)))
            _replace_conv(conv, weight * vector.reshape(shape), bias * vector, params, op)
        else:
            _replace_conv(conv, weight, bias + vector, params, op)
        statistics.count("channel-affines-folded")
