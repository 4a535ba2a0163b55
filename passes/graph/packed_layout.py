"""graph-alter-layout's part for packed products: the u8 x s8 convolutions of graph-fuse-qdq
and the bf16 pair convolutions of graph-pack-bf16 in the blocked layout, so the activations
between them stay NCHW[b]c end to end (below for int8; bf16 alike, two values a word,
padded with 0).

In NCHW a graph.conv_u8s8 vectorizes over 16 output channels, which lie a whole channel
plane apart: its requantizing epilogue (and a residual add's dequantize, add, quantize)
stays scalar, 16 strided byte stores a vector. Blocked, those 16 channels are 16 contiguous
bytes:
- the 8-bit input is laid out NCHW[b]c once, then packed along its block
  (`graph.pack_u8x4` on axis 4: each i32 word four consecutive channels of a block), and
  the convolution becomes `graph.conv_u8s8_nchwc` with its packed weight blocked
  OIHW[b/4]i[ob]o at build time;
- an input whose channels fit no block of four or more (the RGB stem) is packed in NCHW as
  before and read as blocks of one word;
- the packed words are padded beforehand with the pad byte (the pack and the pad fuse into
  one kernel), so the convolution reads without bounds checks: a check and a select per
  broadcast word cost a third of a 3x3 convolution's time;
- the requantization (cast, per-channel multiply, round, add, cast), graph.quantize and
  graph.dequantize with constant scale and zero point, the residual add and the u8 max
  pool follow blocked, as elementwise ops and pools already do.
"""

from typing import TYPE_CHECKING

from xdsl.ir import Operation, SSAValue

from ziggurat.core import statistics
from ziggurat.core.reference import transform_layout
from ziggurat.dialects import graph
from ziggurat.dialects.graph.bf16 import BF16_PER_WORD
from ziggurat.dialects.graph.int8 import BYTES_PER_WORD
from ziggurat.passes.graph.constants import constant_value, make_constant

if TYPE_CHECKING:
    from ziggurat.passes.graph.alter_layout import Relayout


PackedConv = graph.ConvU8S8Op | graph.ConvBf16Op


def per_word(conv: PackedConv) -> int:
    """The values one packed word holds: four bytes, or two bf16."""
    return BYTES_PER_WORD if isinstance(conv, graph.ConvU8S8Op) else BF16_PER_WORD


def packed_source(conv: PackedConv) -> SSAValue | None:
    """The rank-4 tensor `conv` reads packed along its channels, or None."""
    pack = conv.input.owner
    if not isinstance(pack, graph.PackU8x4Op | graph.PackBf16x2Op) or pack.axis.value.data != 1:
        return None
    return pack.input if len(graph.tensor_shape(pack.input)) == 4 else None


def packed_blocks(conv: PackedConv, block: int, input_block: int | None) -> tuple[int, int] | None:
    """(the input's channel block, 0 for words read in blocks of one; the output block) for
    `conv` blocked, its input already in `input_block` (None: NCHW), or None where its
    output channels fit no block."""
    source = packed_source(conv)
    if source is None or len(graph.tensor_shape(conv.result)) != 4:
        return None
    out = graph.channel_block(graph.tensor_shape(conv.weight)[0], block)
    if out is None:
        return None
    channels = graph.tensor_shape(source)[1]
    data = input_block or graph.channel_block(channels, block)
    if data is None or data % per_word(conv):
        return 0, out
    return data, out


def convert_packed_conv(relayout: "Relayout", conv: PackedConv) -> None:
    """Converts `conv` to graph.conv_u8s8_nchwc or graph.conv_bf16_nchwc where its channels
    fit blocks."""
    source = packed_source(conv)
    blocked_source = None if source is None else relayout.blocked.get(source)
    input_block = None if blocked_source is None else graph.block_of(blocked_source)
    blocks = packed_blocks(conv, relayout.block, input_block)
    weight = constant_value(conv.weight, relayout.params)
    if source is None or blocks is None or weight is None:
        return
    data, out = blocks
    int8 = isinstance(conv, graph.ConvU8S8Op)
    if data:
        blocked_input = relayout.blocked_form(source, data)
        pack = graph.PackU8x4Op(blocked_input, 4) if int8 else graph.PackBf16x2Op(blocked_input, 4)
        new_ops: list[Operation] = [pack]
        words = data // per_word(conv)
    else:
        new_ops = [graph.LayoutTransformOp(conv.input, "NCHW", graph.blocked_layout(1))]
        words = 1
    pads = conv.pad_values
    if any(pads):
        top, left, bottom, right = pads
        padding = [0, 0, top, left, 0, 0, 0, bottom, right, 0]
        new_ops.append(graph.PadOp(new_ops[-1].results[0], padding, "constant", conv.pad_word))
        pads = (0, 0, 0, 0)
    layout = graph.blocked_weight_layout(words, out)
    blocked_weight = make_constant(
        transform_layout(weight, "OIHW", layout), relayout.params, "blocked_weight"
    )
    window = (conv.stride_values, pads, conv.dilation_values)
    words_value, weight_value = new_ops[-1].results[0], blocked_weight.results[0]
    if isinstance(conv, graph.ConvU8S8Op):
        product: Operation = graph.ConvU8S8NchwcOp(
            words_value, weight_value, conv.bias, window, conv.pad_byte.value.data
        )
        statistics.count("u8s8-convs-blocked")
    else:
        product = graph.ConvBf16NchwcOp(words_value, weight_value, conv.bias, window)
        statistics.count("bf16-convs-blocked")
    relayout.replace(conv, [*new_ops, blocked_weight, product])


def quant_boundary(relayout: "Relayout", op: graph.QuantBoundaryOp) -> list[Operation]:
    """A graph.quantize or graph.dequantize of a blocked tensor, its scale and zero point
    constants laid out to broadcast against it, or [] where they are not constants."""
    shape = graph.tensor_shape(op.result)
    if op.input not in relayout.blocked or len(shape) != 4:
        return []
    blocked_input = relayout.blocked[op.input]
    block = graph.block_of(blocked_input)
    operands: list[SSAValue] = [blocked_input]
    for param in (op.scale, op.zero_point):
        constant = relayout.blocked_constant(param, shape[1], block)
        if constant is None:
            return []
        operands.append(constant)
    return [relayout.clone(op, operands, relayout.blocked_type(op.result, block))]
