"""Quantization boundaries: graph.quantize (float -> integer) and graph.dequantize (integer ->
float), with their scale and zero point as operands broadcast to the input (per tensor, per
axis or blocked, as the importer shapes them).

They stay ops of their own, not their arithmetic, so graph passes can see the boundaries:
move them through shape ops and fold DQ -> conv/matmul -> Q into integer products
(passes/graph/fuse_qdq.py); each lowers to one elementwise kernel.
"""

from xdsl.dialects.builtin import AnyFloat, IntegerType, TensorType
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import IRDLOperation, irdl_op_definition, operand_def, result_def, traits_def
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from ziggurat.dialects import shapes
from ziggurat.dialects.graph.base import element_type_of, tensor_of, tensor_shape


class QuantBoundaryOp(IRDLOperation):
    input = operand_def(TensorType)
    scale = operand_def(TensorType)
    zero_point = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = (
        "$input `,` $scale `,` $zero_point attr-dict `:` functional-type(operands, results)"
    )

    def __init__(self, x: SSAValue, scale: SSAValue, zero_point: SSAValue, element: Attribute):
        super().__init__(
            operands=[x, scale, zero_point], result_types=[tensor_of(tensor_shape(x), element)]
        )

    def _check(self, integer: SSAValue, real: SSAValue) -> None:
        if not isinstance(element_type_of(integer), IntegerType):
            raise VerifyException(f"{self.name} needs an integer quantized tensor.")
        if element_type_of(self.zero_point) != element_type_of(integer):
            raise VerifyException(f"{self.name} zero point must have the quantized type.")
        if not isinstance(element_type_of(real), AnyFloat) or not isinstance(
            element_type_of(self.scale), AnyFloat
        ):
            raise VerifyException(f"{self.name} needs float values and scale.")
        shape = tensor_shape(self.input)
        for param in (self.scale, self.zero_point):
            try:
                broadcast = shapes.broadcast_shapes(shape, tensor_shape(param))
            except ValueError:
                broadcast = ()
            if broadcast != shape:
                raise VerifyException(
                    f"{self.name} scale and zero point must broadcast to the input's shape."
                )
        if tensor_shape(self.result) != shape:
            raise VerifyException(f"{self.name} must keep the shape.")


@irdl_op_definition
class QuantizeOp(QuantBoundaryOp):
    """y = saturate(round_half_even(x / scale) + zero_point), the division in x's type when
    the scale has it, else in f32 (ONNX QuantizeLinear).

        %q = graph.quantize %x, %s, %z : (tensor<4xf32>, tensor<f32>, tensor<ui8>) -> tensor<4xui8>
    """

    name = "graph.quantize"

    def verify_(self) -> None:
        if element_type_of(self.zero_point) != element_type_of(self.result):
            raise VerifyException("graph.quantize zero point must have the result's type.")
        self._check(self.result, self.input)


@irdl_op_definition
class DequantizeOp(QuantBoundaryOp):
    """y = (x - zero_point) * scale: the difference in int32, the product in f32, then the
    result's float type (ONNX DequantizeLinear).

        %x = graph.dequantize %q, %s, %z : (tensor<4xui8>, tensor<f32>, tensor<ui8>) -> tensor<4xf32>
    """

    name = "graph.dequantize"

    def verify_(self) -> None:
        self._check(self.input, self.result)
