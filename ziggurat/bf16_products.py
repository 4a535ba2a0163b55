"""`ziggurat.quantize(..., scheme="bf16")`: convolutions and matmuls computed on bfloat16
operands with float32 accumulation (the numbers of `vdpbf16ps`), no calibration.

Each product's constant weight is rounded to bfloat16 (nearest even) and stored so, read
through a graph.cast to f32; its run-time input is rounded to bfloat16 and back (graph.cast
both ways) before the product. The products themselves stay float32 ops: the float32
multiply-adds of bf16-exact operands give vdpbf16ps's products exactly (a bf16 x bf16 product
fits a float32), the sums in float32.
"""

from collections.abc import Sequence

import numpy as np
from xdsl.dialects.builtin import f32
from xdsl.rewriter import InsertPoint, Rewriter

from ziggurat.dialects import graph
from ziggurat.passes.graph.constants import constant_value, make_constant
from ziggurat.runtime.dtypes import dtype_named

bf16 = graph.NUMPY_ELEMENT_TYPES["bfloat16"]


def bf16_products(targets: Sequence, params: dict[str, np.ndarray]) -> None:
    """Rounds the weights and inputs of `targets` (ziggurat.quantizer.Product) to bfloat16."""
    bfloat16 = dtype_named("bfloat16")
    for product in targets:
        op = product.op
        weight = constant_value(product.weight, params)
        assert weight is not None
        stored = make_constant(weight.astype(bfloat16), params, "bf16_weight")
        widened = graph.CastOp(stored.results[0], f32)
        rounded = graph.CastOp(product.data, bf16)
        restored = graph.CastOp(rounded.result, f32)
        Rewriter.insert_op([stored, widened, rounded, restored], InsertPoint.before(op))
        op.operands[0] = restored.result
        op.operands[1] = widened.result
