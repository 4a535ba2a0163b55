"""The `graph` dialect: what a model computes, as dataflow on value tensors (TVM Relay's level).

Values are builtin `tensor<...>` types with static shapes. Weights are named references into
the params store (`graph.weight "fc1.weight"`), never numbers printed inline; only small
constants (scalars, shape vectors) live in the IR as `graph.constant`.

    func.func @main(%x: tensor<1x784xf32> {graph.name = "input"}) -> tensor<1x10xf32> {
      %w = graph.weight "fc.weight" : tensor<10x784xf32>
      %0 = graph.matmul %x, %w {transpose_b} : (tensor<1x784xf32>, tensor<10x784xf32>) -> tensor<1x10xf32>
      %1 = graph.softmax %0 {axis = 1 : i64} : tensor<1x10xf32>
      func.return %1 : tensor<1x10xf32>
    }

Every op verifies its result type against its shape rule, so a wrong shape written by hand
or by a pass is caught with a sentence naming both shapes.
"""

from xdsl.ir import Dialect

from ziggurat.dialects.graph.base import (
    NAME_ATTR,
    NUMPY_ELEMENT_TYPES,
    ConstantOp,
    FusedOp,
    WeightOp,
    YieldOp,
    dense_tensor,
    element_type_for,
    element_type_of,
    is_unsigned,
    tensor_of,
    tensor_shape,
)
from ziggurat.dialects.graph.bf16 import ConvBf16NchwcOp, ConvBf16Op, MatmulBf16Op, PackBf16x2Op
from ziggurat.dialects.graph.control import IfOp, LoopOp, ScanOp
from ziggurat.dialects.graph.conv import (
    BatchNormOp,
    ConvOp,
    ConvTransposeOp,
    LrnOp,
    MaxPoolIndicesOp,
    PoolOp,
)
from ziggurat.dialects.graph.elementwise import (
    GELU_APPROXIMATIONS,
    AddOp,
    BinaryElementwiseOp,
    CastOp,
    ClipOp,
    DivOp,
    EqualOp,
    ErfOp,
    ExpOp,
    GeluOp,
    HardSigmoidOp,
    LeakyReluOp,
    LogOp,
    MaxOp,
    MinOp,
    ModOp,
    MulOp,
    NegOp,
    PowOp,
    PReluOp,
    ReciprocalOp,
    ReluOp,
    RoundOp,
    SigmoidOp,
    SqrtOp,
    SubOp,
    TanhOp,
    UnaryElementwiseOp,
)
from ziggurat.dialects.graph.int8 import ConvU8S8NchwcOp, ConvU8S8Op, MatmulU8S8Op, PackU8x4Op
from ziggurat.dialects.graph.layout import (
    ConvNchwcOp,
    Layout,
    LayoutTransformOp,
    PoolNchwcOp,
    block_of,
    blocked_layout,
    blocked_weight_layout,
    channel_block,
    transformed_shape,
)
from ziggurat.dialects.graph.nn import LayerNormOp, MatmulOp, ReduceOp, SoftmaxOp
from ziggurat.dialects.graph.quant import DequantizeOp, QuantBoundaryOp, QuantizeOp
from ziggurat.dialects.graph.recurrence import RecurrenceOp
from ziggurat.dialects.graph.shape import (
    PAD_MODES,
    BroadcastOp,
    ConcatOp,
    GatherOp,
    PadOp,
    ReshapeOp,
    SliceOp,
    TransposeOp,
    WhereOp,
)
from ziggurat.dialects.graph.winograd import TILES as WINOGRAD_TILES
from ziggurat.dialects.graph.winograd import (
    WinogradInputOp,
    WinogradOutputOp,
    tile_grid,
    winograd_input_shape,
    winograd_matrices,
)

Graph = Dialect(
    "graph",
    [
        WeightOp, ConstantOp, FusedOp, YieldOp,
        ReluOp, SigmoidOp, TanhOp, ErfOp, ExpOp, LogOp, SqrtOp, NegOp, ReciprocalOp, GeluOp, RoundOp,
        AddOp, SubOp, MulOp, DivOp, ModOp, PowOp, MaxOp, MinOp,
        ClipOp, LeakyReluOp, HardSigmoidOp, PReluOp,
        MatmulOp, SoftmaxOp, LayerNormOp, ReshapeOp, TransposeOp, ConcatOp,
        ConvOp, ConvTransposeOp, PoolOp, MaxPoolIndicesOp, BatchNormOp, LrnOp, ReduceOp,
        SliceOp, BroadcastOp, PadOp, GatherOp, WhereOp, EqualOp, CastOp,
        IfOp, LoopOp, ScanOp,
        LayoutTransformOp, ConvNchwcOp, PoolNchwcOp, WinogradInputOp, WinogradOutputOp,
        QuantizeOp, DequantizeOp, PackU8x4Op, ConvU8S8Op, ConvU8S8NchwcOp, MatmulU8S8Op,
        PackBf16x2Op, ConvBf16Op, ConvBf16NchwcOp, MatmulBf16Op,
        RecurrenceOp,
    ],
    [],
)  # fmt: skip
