"""The recurrent part of ONNX's LSTM, GRU and RNN: the serial loop over time.

The input projection (X times W for every step, plus the biases that can be summed) is an
ordinary graph.matmul and graph.add before this op, so it runs as one GEMM over all steps;
`graph.recurrence` takes its result and does, step by step, the product of the state with the
recurrent weights and the gate functions:

    %r = graph.recurrence %gates, %rp, %rbias, %peep, %h0, %c0, %lens {cell = "lstm", direction = "bidirectional", activations = ["Sigmoid", "Tanh", "Tanh", "Sigmoid", "Tanh", "Tanh"], alphas = array<f32: 0.0, ...>, betas = array<f32: ...>} : (...) -> tensor<66x2x1x256xf32>

Operands (D directions, B batch, T steps, H hidden, G gates: 4 for LSTM, 3 for GRU, 1 for RNN):
- gates `[T*B, D*G*H]` (row t*B + b): the projected input with the summed biases, the GEMM's
  result as it is, ONNX's gate order per
  direction (LSTM iofc, GRU zrh);
- recurrent_packed `[D, G*H/N, H, N]`: R transposed and cut into blocks of N columns
  (`column_block`), block-major, so a step streams each block's H rows contiguously while
  N accumulators stay in registers;
- recurrent_bias `[D, H]`: GRU's Rbh when `linear_before_reset` (it sits inside r * (...)),
  zeros otherwise;
- peepholes `[D, 3H]` (LSTM's P, order iof; zeros without);
- initial_h, initial_c `[D, B, H]`; sequence_lens `[B]` (i32).

The result `[T + 2, D, B, H]` holds Y in rows 0..T-1 (zero past each entry's length), the
last hidden state Y_h in row T and the last cell state Y_c in row T + 1 (zeros but for LSTM).
"""

from collections.abc import Sequence

import numpy as np
from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseArrayBase,
    FloatAttr,
    StringAttr,
    TensorType,
    UnitAttr,
    f32,
    i32,
)
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from ziggurat.dialects.graph.base import (
    check_result_shape,
    element_type_of,
    tensor_of,
    tensor_shape,
)

CELL_GATES = {"lstm": 4, "gru": 3, "rnn": 1}
"""Gates per cell kind."""

CELL_ACTIVATIONS = {"lstm": 3, "gru": 2, "rnn": 1}
"""Activation functions per direction for each cell kind (f, g, h for LSTM)."""

DIRECTIONS = ("forward", "reverse", "bidirectional")

ACTIVATIONS = (
    "Relu",
    "Tanh",
    "Sigmoid",
    "Affine",
    "LeakyRelu",
    "ThresholdedRelu",
    "ScaledTanh",
    "HardSigmoid",
    "Elu",
    "Softsign",
    "Softplus",
)
"""The activation functions ONNX's recurrent ops name (each with its alpha and beta)."""


COLUMN_BLOCKS = (64, 48, 32, 16, 8, 4, 2, 1)
"""Widths of the blocks R^T is packed in, widest first: 64 columns are 4 zmm accumulators."""


def column_block(cell: str, hidden: int, linear_before_reset: bool) -> int:
    """The widest block dividing the columns a step multiplies at once: all G*H, but for GRU
    without linear_before_reset, whose candidate's H columns run after the others."""
    columns = hidden if cell == "gru" and not linear_before_reset else CELL_GATES[cell] * hidden
    return next(n for n in COLUMN_BLOCKS if columns % n == 0)


def pack_recurrent(r: np.ndarray, block: int) -> np.ndarray:
    """ONNX's R [D, G*H, H] as graph.recurrence reads it: [D, G*H/block, H, block]."""
    d, width, hidden = r.shape
    return np.ascontiguousarray(r.reshape(d, width // block, block, hidden).transpose(0, 1, 3, 2))


@irdl_op_definition
class RecurrenceOp(IRDLOperation):
    """The time loop of an LSTM, GRU or RNN over a projected input (see the module doc)."""

    name = "graph.recurrence"
    gates = operand_def(TensorType)
    recurrent_packed = operand_def(TensorType)
    recurrent_bias = operand_def(TensorType)
    peepholes = operand_def(TensorType)
    initial_h = operand_def(TensorType)
    initial_c = operand_def(TensorType)
    sequence_lens = operand_def(TensorType)
    cell = prop_def(StringAttr)
    direction = prop_def(StringAttr)
    activations = prop_def(ArrayAttr[StringAttr])
    alphas = prop_def(DenseArrayBase.constr(f32))
    betas = prop_def(DenseArrayBase.constr(f32))
    clip = opt_prop_def(FloatAttr)
    input_forget = opt_prop_def(UnitAttr)
    linear_before_reset = opt_prop_def(UnitAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = (
        "$gates `,` $recurrent_packed `,` $recurrent_bias `,` $peepholes `,` $initial_h `,` "
        "$initial_c `,` $sequence_lens attr-dict `:` functional-type(operands, results)"
    )

    def __init__(
        self,
        operands: Sequence[SSAValue],
        cell: str,
        direction: str,
        activations: Sequence[tuple[str, float, float]],
        clip: float | None = None,
        input_forget: bool = False,
        linear_before_reset: bool = False,
    ):
        gates, _, _, _, initial_h = operands[:5]
        steps = tensor_shape(gates)[0] // tensor_shape(initial_h)[1]
        props: dict[str, Attribute] = {
            "cell": StringAttr(cell),
            "direction": StringAttr(direction),
            "activations": ArrayAttr([StringAttr(name) for name, _, _ in activations]),
            "alphas": DenseArrayBase.from_list(f32, [alpha for _, alpha, _ in activations]),
            "betas": DenseArrayBase.from_list(f32, [beta for _, _, beta in activations]),
        }
        if clip is not None:
            props["clip"] = FloatAttr(clip, f32)
        if input_forget:
            props["input_forget"] = UnitAttr()
        if linear_before_reset:
            props["linear_before_reset"] = UnitAttr()
        shape = (steps + 2, *tensor_shape(initial_h))
        super().__init__(
            operands=list(operands),
            properties=props,
            result_types=[tensor_of(shape, element_type_of(gates))],
        )

    @property
    def directions(self) -> int:
        return 2 if self.direction.data == "bidirectional" else 1

    @property
    def hidden(self) -> int:
        return tensor_shape(self.recurrent_packed)[2]

    @property
    def block(self) -> int:
        """Columns per block of the packed recurrent weights."""
        return tensor_shape(self.recurrent_packed)[3]

    @property
    def gate_count(self) -> int:
        return CELL_GATES[self.cell.data]

    def activation_list(self) -> list[tuple[str, float, float]]:
        """(name, alpha, beta) of each activation, the forward direction's first."""
        return [
            (name.data, float(alpha), float(beta))
            for name, alpha, beta in zip(
                self.activations.data,
                self.alphas.get_values(),
                self.betas.get_values(),
                strict=True,
            )
        ]

    def verify_(self) -> None:
        cell, direction = self.cell.data, self.direction.data
        if cell not in CELL_GATES:
            raise VerifyException(f"graph.recurrence cell must be one of {list(CELL_GATES)}.")
        if direction not in DIRECTIONS:
            raise VerifyException(f"graph.recurrence direction must be one of {DIRECTIONS}.")
        if element_type_of(self.gates) != f32 or element_type_of(self.sequence_lens) != i32:
            raise VerifyException("graph.recurrence takes f32 tensors and i32 sequence_lens.")
        d, h, g = self.directions, self.hidden, self.gate_count
        lbr = self.linear_before_reset is not None
        if self.block != column_block(cell, h, lbr):
            raise VerifyException(
                f"graph.recurrence packs R in blocks of {column_block(cell, h, lbr)} columns."
            )
        batch = tensor_shape(self.initial_h)[1]
        steps = tensor_shape(self.gates)[0] // max(batch, 1)
        expected = {
            "gates": (steps * batch, d * g * h),
            "recurrent_packed": (d, g * h // self.block, h, self.block),
            "recurrent_bias": (d, h),
            "peepholes": (d, 3 * h),
            "initial_h": (d, batch, h),
            "initial_c": (d, batch, h),
            "sequence_lens": (batch,),
        }
        for name, shape in expected.items():
            actual = tensor_shape(getattr(self, name))
            if actual != shape:
                raise VerifyException(
                    f"graph.recurrence {name} has shape {list(actual)}, expected {list(shape)}."
                )
        names = [a.data for a in self.activations.data]
        if len(names) != d * CELL_ACTIVATIONS[cell]:
            raise VerifyException(
                f"graph.recurrence {cell} takes {d * CELL_ACTIVATIONS[cell]} activations."
            )
        unknown = [n for n in names if n not in ACTIVATIONS]
        if unknown or not len(self.alphas.get_values()) == len(self.betas.get_values()) == len(
            names
        ):
            raise VerifyException(
                f"graph.recurrence activations must be among {ACTIVATIONS}, each with an alpha "
                "and a beta."
            )
        assert isinstance(self.result.type, TensorType)
        check_result_shape(self, (steps + 2, d, batch, h), self.result.type)
