"""A new ONNX op: Softplus(x) = log(1 + exp(x)), composed from existing graph ops."""

from typing import Any

import numpy as np
import onnx
from xdsl.ir import SSAValue

from ziggurat.dialects import graph
from ziggurat.frontend.onnx.context import ImportContext, required
from ziggurat.frontend.onnx.registry import OnnxOpConverter, register


@register("Softplus")
class Softplus(OnnxOpConverter):
    @classmethod
    def _impl_v1(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        x = required(ctx, node, 0)
        one = ctx.tensor(np.array(1.0, dtype=np.float32), "one")
        return [graph.LogOp(graph.AddOp(graph.ExpOp(x).result, one).result).result]
