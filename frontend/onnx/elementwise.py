"""Elementwise ONNX ops, table-driven: unary maps, broadcasting binary ops, variadic folds,
plus Identity and inference-time Dropout."""

from collections.abc import Callable
from typing import Any

import numpy as np
import onnx
from xdsl.dialects.builtin import AnyFloat, i32
from xdsl.ir import SSAValue

from ziggurat.dialects import graph
from ziggurat.frontend.onnx.context import ImportContext, required
from ziggurat.frontend.onnx.registry import OnnxOpConverter, register

UNARY: dict[str, tuple[int, type[graph.UnaryElementwiseOp]]] = {
    "Relu": (6, graph.ReluOp),
    "Sigmoid": (6, graph.SigmoidOp),
    "Tanh": (6, graph.TanhOp),
    "Erf": (9, graph.ErfOp),
    "Exp": (6, graph.ExpOp),
    "Log": (6, graph.LogOp),
    "Sqrt": (6, graph.SqrtOp),
    "Neg": (6, graph.NegOp),
    "Reciprocal": (6, graph.ReciprocalOp),
    "Round": (11, graph.RoundOp),
}
"""ONNX op -> (first opset with today's semantics, graph op)."""

BINARY: dict[str, tuple[int, type[graph.BinaryElementwiseOp]]] = {
    "Add": (7, graph.AddOp),
    "Sub": (7, graph.SubOp),
    "Mul": (7, graph.MulOp),
    "Div": (7, graph.DivOp),
    "Pow": (7, graph.PowOp),
}
"""Binary ops with numpy broadcasting (from opset 7)."""

VARIADIC: dict[str, tuple[int, type[graph.BinaryElementwiseOp]]] = {
    "Max": (8, graph.MaxOp),
    "Min": (8, graph.MinOp),
    "Sum": (8, graph.AddOp),
}
"""Ops over any number of broadcasting inputs, folded left to right."""

Impl = Callable[
    [type[OnnxOpConverter], ImportContext, onnx.NodeProto, dict[str, Any]], list[SSAValue]
]


def _converter(op_type: str, opset: int, impl: Impl) -> None:
    register(op_type)(type(op_type, (OnnxOpConverter,), {f"_impl_v{opset}": classmethod(impl)}))


def _unary(op_class: type[graph.UnaryElementwiseOp]) -> Impl:
    def impl(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        return [op_class(required(ctx, node, 0)).results[0]]

    return impl


def _binary(op_class: type[graph.BinaryElementwiseOp]) -> Impl:
    def impl(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        return [op_class(required(ctx, node, 0), required(ctx, node, 1)).results[0]]

    return impl


def _variadic(op_class: type[graph.BinaryElementwiseOp]) -> Impl:
    def impl(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        values = [required(ctx, node, i) for i in range(len(node.input))]
        if not values:
            raise ctx.error("needs at least one input")
        result = values[0]
        for value in values[1:]:
            result = op_class(result, value).results[0]
        return [result]

    return impl


def _check_divisor(ctx: ImportContext, node: onnx.NodeProto, divisor: SSAValue) -> None:
    """Adds a check that an integer divisor holds no zero, so that a division by zero fails
    the run with an error naming the node, as onnxruntime's does, instead of giving the
    value the kernel defines for it (graph.div, graph.mod). A constant divisor without
    zeros needs none."""
    element = graph.element_type_of(divisor)
    if isinstance(element, AnyFloat):
        return
    known = ctx.constant(node.input[1])
    if known is not None and np.all(known != 0):
        return
    shape = graph.tensor_shape(divisor)
    zero = graph.ConstantOp(graph.dense_tensor(element, (), [0])).result
    is_zero = graph.CastOp(graph.EqualOp(divisor, zero).result, i32).result
    if shape:
        is_zero = graph.ReduceOp(is_zero, "max", list(range(len(shape))), keepdims=True).result
    ctx.checks.append((is_zero, f"integer division by zero in node {ctx.node_label}"))


def _integer_checked_div(
    cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
) -> list[SSAValue]:
    lhs, rhs = required(ctx, node, 0), required(ctx, node, 1)
    _check_divisor(ctx, node, rhs)
    return [graph.DivOp(lhs, rhs).result]


for _name, (_opset, _unary_op) in UNARY.items():
    _converter(_name, _opset, _unary(_unary_op))
for _name, (_opset, _binary_op) in BINARY.items():
    _converter(_name, _opset, _integer_checked_div if _name == "Div" else _binary(_binary_op))
for _name, (_opset, _binary_op) in VARIADIC.items():
    _converter(_name, _opset, _variadic(_binary_op))


@register("Mod")
class Mod(OnnxOpConverter):
    """fmod=0 keeps the divisor's sign, fmod=1 the dividend's (C's fmod for floats);
    graph.mod says what a zero divisor gives. Before opset 28 floats need fmod=1."""

    @classmethod
    def _impl_v10(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        if not attrs.get("fmod", 0) and isinstance(
            graph.element_type_of(required(ctx, node, 0)), AnyFloat
        ):
            raise ctx.error("fmod must be 1 for floats before opset 28")
        return cls._impl_v28(ctx, node, attrs)

    @classmethod
    def _impl_v28(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        lhs, rhs = required(ctx, node, 0), required(ctx, node, 1)
        _check_divisor(ctx, node, rhs)
        return [graph.ModOp(lhs, rhs, truncated=bool(attrs.get("fmod", 0))).result]


@register("Gelu")
class Gelu(OnnxOpConverter):
    @classmethod
    def _impl_v20(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        approximate = attrs.get("approximate", b"none")
        approximate = approximate.decode() if isinstance(approximate, bytes) else approximate
        if approximate not in graph.GELU_APPROXIMATIONS:
            raise ctx.error(f"Gelu approximate={approximate!r} is not supported")
        return [graph.GeluOp(required(ctx, node, 0), approximate).result]


@register("Identity")
class Identity(OnnxOpConverter):
    @classmethod
    def _impl_v1(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        return [required(ctx, node, 0)]


@register("Dropout")
class Dropout(OnnxOpConverter):
    """Inference (or a zero ratio): the identity, and a mask of all ones (a known constant).
    Training mode with a non-zero ratio (random masks) is refused."""

    @classmethod
    def _impl_v1(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        x = required(ctx, node, 0)
        training = ctx.constant_input(node, 2)
        if training is None and ctx.input(node, 2) is not None:
            raise ctx.unsupported("its training mode is computed at run time")
        ratio = ctx.constant_input(node, 1)
        drops = ratio is None or float(np.asarray(ratio).reshape(-1)[0]) != 0.0
        if training is not None and bool(np.asarray(training).reshape(-1)[0]) and drops:
            raise ctx.unsupported("training mode (random dropout) is not supported")
        if len(node.output) > 1 and node.output[1]:
            ctx.constants[node.output[1]] = np.ones(graph.tensor_shape(x), dtype=bool)
        return [x]


@register("Clip")
class Clip(OnnxOpConverter):
    @classmethod
    def _impl_v6(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        low, high = float(attrs.get("min", -np.inf)), float(attrs.get("max", np.inf))
        return [graph.ClipOp(required(ctx, node, 0), low, high).result]

    @classmethod
    def _impl_v11(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        """Constant bounds of a float tensor become a graph.clip; bounds known only at run
        time, and integer bounds (which a graph.clip's float parameters would round past
        2**24), max and min."""
        x = required(ctx, node, 0)
        low, high = ctx.constant_input(node, 1), ctx.constant_input(node, 2)
        runtime_low = low is None and ctx.input(node, 1) is not None
        runtime_high = high is None and ctx.input(node, 2) is not None
        for bound, which in ((low, "min"), (high, "max")):
            if bound is not None and np.size(bound) != 1:
                raise ctx.error(f"{which} must be a scalar, got shape {list(np.shape(bound))}")
        is_float = isinstance(graph.element_type_of(x), AnyFloat)
        if is_float and not runtime_low and not runtime_high:
            bounds = [
                -np.inf if low is None else float(np.asarray(low).item()),
                np.inf if high is None else float(np.asarray(high).item()),
            ]
            return [graph.ClipOp(x, *bounds).result]
        if ctx.input(node, 1) is not None:
            x = graph.MaxOp(x, required(ctx, node, 1)).result
        if ctx.input(node, 2) is not None:
            x = graph.MinOp(x, required(ctx, node, 2)).result
        return [x]


@register("LeakyRelu")
class LeakyRelu(OnnxOpConverter):
    @classmethod
    def _impl_v6(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        return [graph.LeakyReluOp(required(ctx, node, 0), float(attrs.get("alpha", 0.01))).result]


@register("HardSigmoid")
class HardSigmoid(OnnxOpConverter):
    @classmethod
    def _impl_v6(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        alpha, beta = float(attrs.get("alpha", 0.2)), float(attrs.get("beta", 0.5))
        return [graph.HardSigmoidOp(required(ctx, node, 0), alpha, beta).result]


@register("HardSwish")
class HardSwish(OnnxOpConverter):
    """x * hard_sigmoid(x) with alpha 1/6, beta 1/2."""

    @classmethod
    def _impl_v14(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        x = required(ctx, node, 0)
        return [graph.MulOp(x, graph.HardSigmoidOp(x, 1.0 / 6.0, 0.5).result).result]


@register("PRelu")
class PRelu(OnnxOpConverter):
    @classmethod
    def _impl_v7(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        return [graph.PReluOp(required(ctx, node, 0), required(ctx, node, 1)).result]


@register("Cast")
class Cast(OnnxOpConverter):
    @classmethod
    def _impl_v6(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        to = int(attrs["to"])
        try:
            element = graph.element_type_for(onnx.helper.tensor_dtype_to_np_dtype(to))
        except (KeyError, ValueError, TypeError):
            element = None
        if element is None:
            name = onnx.TensorProto.DataType.Name(to)
            raise ctx.unsupported(f"casting to {name} is not supported")
        x = required(ctx, node, 0)
        return [x if graph.element_type_of(x) == element else graph.CastOp(x, element).result]
