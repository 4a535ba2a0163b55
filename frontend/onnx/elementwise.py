"""Elementwise ONNX ops: Add (numpy broadcasting), Relu, Identity."""

from typing import Any

import onnx
from xdsl.ir import SSAValue

from ziggurat.dialects import graph
from ziggurat.frontend.onnx.context import ImportContext, required
from ziggurat.frontend.onnx.registry import OnnxOpConverter, register


@register("Add")
class Add(OnnxOpConverter):
    @classmethod
    def _impl_v7(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        return [graph.AddOp(required(ctx, node, 0), required(ctx, node, 1)).result]


@register("Relu")
class Relu(OnnxOpConverter):
    @classmethod
    def _impl_v6(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        return [graph.ReluOp(required(ctx, node, 0)).result]


@register("Identity")
class Identity(OnnxOpConverter):
    @classmethod
    def _impl_v1(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        return [required(ctx, node, 0)]
