"""graph-alter-layout: convolution chains in the blocked-channel layout NCHW[x]c (TVM's
AlterOpLayout to conv2d_NCHWc), the block as wide as a vector register, so kernels load and
store whole vectors of channels.

Algorithm, for each graph function in program order:
1. The block is the `block` option, else the f32 lanes of the module's #target.cpu (16 for
   AVX-512, 8 for AVX2), else 16; channels it does not divide take half of it (MobileNetV2's
   24 channels in NCHW8c on AVX-512), so each tensor has its own block.
2. A 2-D f32 or i32 (a QDQ model's widened integer products, a depthwise one's among them)
   graph.conv with a constant weight whose output channels fit blocks (and whose
   input channels do, for depthwise and grouped ones) becomes a graph.conv_nchwc on the
   blocked form of its input; its weight is laid out as OIHW{i}i{o}o now, a new weight in
   the params store. A plain one whose input channels fit no block (the RGB stem) reads its
   input as NCHW1c, padded beforehand, so its result and what follows are blocked.
3. An op that does not care about the channel layout follows an operand already blocked, in
   that operand's block: elementwise maps; binary elementwise ops whose other operand is a
   constant (re-laid out now) or has the same channels (blocked on the way in); 2-D pools;
   concats along the channels and channel slices of whole blocks.
4. Layout transforms sit only at the borders: a value is blocked at most once per block,
   right after it is made, and a blocked value goes back to NCHW once, for all the users
   that stay in NCHW (the function's return included).
5. The NCHW originals of converted ops go, and so do weights nobody reads any more.
The packed convolutions of graph-fuse-qdq and graph-pack-bf16 follow the same road
(passes/graph/packed_layout.py): graph.conv_u8s8 and graph.conv_bf16 become
graph.conv_u8s8_nchwc and graph.conv_bf16_nchwc on their input blocked and packed along
the block, and graph.quantize/graph.dequantize with constant parameters stay blocked like
elementwise maps.
Convolutions whose output channels fit no block stay in NCHW, and so does a function with
fewer than `min-convs` convertible convolutions: for a lone convolution the two transforms
cost about 40% of the convolution itself (64 channels at 56x56).

Runs after graph-simplify-inference and graph-fuse-horizontal; graph-fuse-ops follows and
fuses each blocked convolution with its elementwise consumers.
"""

from dataclasses import dataclass, field

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, TensorType, f32, i32
from xdsl.ir import Block, Operation, OpResult, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from ziggurat.core import statistics
from ziggurat.core.context import params_of
from ziggurat.core.reference import transform_layout
from ziggurat.dialects import graph
from ziggurat.dialects.target import CPU_ATTR, CpuTargetAttr
from ziggurat.passes.graph.constants import constant_value, make_constant
from ziggurat.passes.graph.packed_layout import (
    convert_packed_conv,
    packed_blocks,
    quant_boundary,
)

DEFAULT_BLOCK = 16
"""Channels per block when neither the option nor the module's target says: AVX-512's f32 lanes."""

MAPS = (
    graph.UnaryElementwiseOp, graph.GeluOp, graph.ClipOp, graph.LeakyReluOp, graph.HardSigmoidOp,
    graph.CastOp,
)  # fmt: skip


def target_block(module: ModuleOp) -> int:
    """The f32 lanes of the module's target vector registers, or DEFAULT_BLOCK."""
    cpu = module.attributes.get(CPU_ATTR)
    return cpu.vector_lanes(32) if isinstance(cpu, CpuTargetAttr) else DEFAULT_BLOCK


@dataclass(frozen=True)
class ConvBlocks:
    """How a conv runs blocked: its input's block (1: NCHW1c), the weight's input-channel
    block and the output block."""

    data: int
    weight_in: int
    out: int


def conv_blocks(conv: graph.ConvOp, block: int, input_block: int | None) -> ConvBlocks | None:
    """The blocks of `conv` with its input already in `input_block` (None: NCHW), or None
    when its channels do not fit whole blocks. A plain convolution whose input channels fit
    no block (an RGB stem) reads its input in blocks of one channel."""
    x, w = graph.tensor_shape(conv.input), graph.tensor_shape(conv.weight)
    groups = conv.groups.value.data
    if len(x) != 4 or graph.element_type_of(conv.input) not in (f32, i32):
        return None
    out = graph.channel_block(w[0], block)
    if out is None:
        return None
    if groups == 1:
        data = input_block or graph.channel_block(x[1], block) or 1
        return ConvBlocks(data, data, out)
    if x[1] % out:
        return None
    if w[1] == 1 and w[0] == groups:
        return ConvBlocks(out, 1, out)
    if w[1] % out == 0 and (w[0] // groups) % out == 0:
        return ConvBlocks(out, out, out)
    return None


def all_uses_in(value: SSAValue, ops: set[Operation]) -> bool:
    return all(use.operation in ops for use in value.uses)


@dataclass
class Relayout:
    """The rewrite of one function: blocked forms of values and the ops they replace."""

    block: int
    body: Block
    params: dict[str, np.ndarray]
    blocked: dict[SSAValue, OpResult] = field(default_factory=dict[SSAValue, OpResult])
    """Results of converted ops -> their blocked counterparts."""
    inward: dict[tuple[SSAValue, int], SSAValue] = field(
        default_factory=dict[tuple[SSAValue, int], SSAValue]
    )
    """(value, block) -> the value in NCHW{block}c, for NCHW values and re-blocked ones."""
    unit_blocked: dict[tuple[SSAValue, tuple[int, ...]], SSAValue] = field(
        default_factory=dict[tuple[SSAValue, tuple[int, ...]], SSAValue]
    )
    """(NCHW input, pads) of convolutions read in blocks of one channel -> padded NCHW1c."""
    converted: list[Operation] = field(default_factory=list[Operation])
    packs: list[Operation] = field(default_factory=list[Operation])
    """NCHW packs of the packed convolutions met, erased with them if only they read them."""

    @staticmethod
    def blocked_type(value: SSAValue, block: int) -> TensorType:
        layout = graph.blocked_layout(block)
        shape = graph.transformed_shape(graph.tensor_shape(value), "NCHW", layout)
        return graph.tensor_of(shape, graph.element_type_of(value))

    def right_after(self, value: SSAValue) -> InsertPoint:
        """Where a copy of `value` goes: right after its op, or first for an argument."""
        owner = value.owner
        return (
            InsertPoint.after(owner)
            if isinstance(owner, Operation)
            else InsertPoint.at_start(self.body)
        )

    def blocked_form(self, value: SSAValue, block: int) -> SSAValue:
        """`value` in NCHW{block}c: its blocked counterpart if in that block, else laid out
        (from NCHW, or from its other block) once, right after it is made."""
        source = self.blocked.get(value)
        if source is not None and graph.block_of(source) == block:
            return source
        key = (value, block)
        if key not in self.inward:
            start = value if source is None else source
            layout = "NCHW" if source is None else graph.blocked_layout(graph.block_of(source))
            transform = graph.LayoutTransformOp(start, layout, graph.blocked_layout(block))
            Rewriter.insert_op(transform, self.right_after(start))
            self.inward[key] = transform.result
            statistics.count("layout-transforms")
        return self.inward[key]

    def unit_blocks(self, value: SSAValue, pads: tuple[int, ...]) -> SSAValue:
        """`value` in NCHW1c (blocks of one channel) padded by the convolution's `pads`, laid
        out once per padding, right after it is made: with one channel per block the
        convolution's inner loop is one multiply-add per row, which bounds checks on every
        read would outweigh."""
        key = (value, pads)
        if key not in self.unit_blocked:
            ops: list[Operation] = [graph.LayoutTransformOp(value, "NCHW", graph.blocked_layout(1))]
            if any(pads):
                top, left, bottom, right = pads
                padding = [0, 0, top, left, 0, 0, 0, bottom, right, 0]
                ops.append(graph.PadOp(ops[-1].results[0], padding, "constant", 0.0))
            Rewriter.insert_op(ops, self.right_after(value))
            self.unit_blocked[key] = ops[-1].results[0]
            statistics.count("layout-transforms")
        return self.unit_blocked[key]

    def replace(self, original: Operation, new_ops: list[Operation]) -> None:
        """Puts `new_ops` before `original`, whose result the last of them computes blocked."""
        Rewriter.insert_op(new_ops, InsertPoint.before(original))
        self.blocked[original.results[0]] = new_ops[-1].results[0]
        self.converted.append(original)

    def convert(self, op: Operation) -> None:
        """Converts `op` if it can compute in the blocked layout."""
        if isinstance(op, graph.ConvOp):
            self.conv(op)
            return
        if isinstance(op, graph.ConvU8S8Op | graph.ConvBf16Op):
            if isinstance(op.input.owner, graph.PackU8x4Op | graph.PackBf16x2Op):
                self.packs.append(op.input.owner)
            convert_packed_conv(self, op)
            return
        if not any(v in self.blocked for v in op.operands):
            return
        new_ops: list[Operation] = []
        if isinstance(op, MAPS):
            blocked_input = self.blocked[op.operands[0]]
            result_type = self.blocked_type(op.results[0], graph.block_of(blocked_input))
            new_ops = [self.clone(op, [blocked_input], result_type)]
        elif isinstance(op, graph.BinaryElementwiseOp):
            new_ops = self.binary(op)
        elif isinstance(op, graph.PoolOp):
            new_ops = self.pool(op)
        elif isinstance(op, graph.ConcatOp):
            new_ops = self.concat(op)
        elif isinstance(op, graph.QuantBoundaryOp):
            new_ops = quant_boundary(self, op)
        elif isinstance(op, graph.SliceOp):
            new_ops = self.slice(op)
        if new_ops:
            self.replace(op, new_ops)
            statistics.count("ops-kept-blocked")

    @staticmethod
    def clone(op: Operation, operands: list[SSAValue], result_type: TensorType) -> Operation:
        return type(op).create(
            operands=operands,
            result_types=[result_type],
            properties=dict(op.properties),
            attributes=dict(op.attributes),
        )

    def conv(self, conv: graph.ConvOp) -> None:
        source = self.blocked.get(conv.input)
        blocks = conv_blocks(conv, self.block, None if source is None else graph.block_of(source))
        weight = constant_value(conv.weight, self.params)
        if blocks is None or weight is None:
            return
        layout = graph.blocked_weight_layout(blocks.weight_in, blocks.out)
        blocked_weight = make_constant(
            transform_layout(weight, "OIHW", layout), self.params, "blocked_weight"
        )
        pads = conv.pad_values
        if blocks.data == 1:
            blocked_input = self.unit_blocks(conv.input, pads)
            pads = (0, 0, 0, 0)
        else:
            blocked_input = self.blocked_form(conv.input, blocks.data)
        blocked_conv = graph.ConvNchwcOp(
            blocked_input,
            blocked_weight.results[0],
            conv.bias,
            conv.stride_values,
            pads,
            conv.dilation_values,
            conv.groups.value.data,
        )
        self.replace(conv, [blocked_weight, blocked_conv])
        statistics.count("convs-converted")

    def blocked_constant(self, value: SSAValue, channels: int, block: int) -> SSAValue | None:
        """A constant operand of a rank-4 op laid out to broadcast against blocked tensors:
        single values as they are, others spread over the channels and blocked now, at the
        top of the function so that graph-fuse-ops may fuse the op that reads it."""
        array = constant_value(value, self.params)
        if array is None or array.ndim > 4:
            return None
        if array.size == 1:
            return value
        shape = (1,) * (4 - array.ndim) + array.shape
        if shape[1] not in (1, channels):
            return None
        full = np.broadcast_to(array.reshape(shape), (shape[0], channels, shape[2], shape[3]))
        constant = make_constant(
            np.ascontiguousarray(transform_layout(full, "NCHW", graph.blocked_layout(block))),
            self.params,
            "blocked_constant",
        )
        Rewriter.insert_op(constant, InsertPoint.at_start(self.body))
        return constant.results[0]

    def binary(self, op: graph.BinaryElementwiseOp) -> list[Operation]:
        shape = graph.tensor_shape(op.result)
        if len(shape) != 4:
            return []
        block = next(graph.block_of(self.blocked[v]) for v in (op.lhs, op.rhs) if v in self.blocked)
        operands: list[SSAValue] = []
        for value in (op.lhs, op.rhs):
            constant = (
                None if value in self.blocked else self.blocked_constant(value, shape[1], block)
            )
            operand_shape = graph.tensor_shape(value)
            if constant is not None:
                operands.append(constant)
            elif value in self.blocked or (
                len(operand_shape) == 4 and operand_shape[1] == shape[1]
            ):
                operands.append(self.blocked_form(value, block))
            else:
                return []
        return [self.clone(op, operands, self.blocked_type(op.result, block))]

    def pool(self, op: graph.PoolOp) -> list[Operation]:
        if len(op.kernel_values) != 2:
            return []
        window = (op.stride_values, op.pad_values, op.dilation_values)
        pooled = graph.PoolNchwcOp(
            self.blocked[op.input],
            op.kind.data,
            op.kernel_values,
            window,
            bool(op.ceil_mode.value.data),
            bool(op.count_include_pad.value.data),
        )
        return [pooled]

    def concat(self, op: graph.ConcatOp) -> list[Operation]:
        shapes = [graph.tensor_shape(v) for v in op.inputs]
        block = next(graph.block_of(self.blocked[v]) for v in op.inputs if v in self.blocked)
        if op.axis.value.data != 1 or any(len(s) != 4 or s[1] % block for s in shapes):
            return []
        return [graph.ConcatOp([self.blocked_form(v, block) for v in op.inputs], 1)]

    def slice(self, op: graph.SliceOp) -> list[Operation]:
        source, out = graph.tensor_shape(op.input), graph.tensor_shape(op.result)
        starts = tuple(op.starts.get_values())
        whole = len(source) == 4 and all(source[d] == out[d] and starts[d] == 0 for d in (0, 2, 3))
        blocked_input = self.blocked[op.input]
        block = graph.block_of(blocked_input)
        if (
            not whole
            or any(s != 1 for s in op.steps.get_values())
            or starts[1] % block
            or out[1] % block
        ):
            return []
        shape = graph.tensor_shape(self.blocked_type(op.result, block))
        return [graph.SliceOp(blocked_input, [0, starts[1] // block, 0, 0, 0], [1] * 5, shape)]

    def finish(self) -> None:
        """Gives NCHW users of converted results one transform back, then erases the
        converted originals and the weights only they read."""
        converted = set(self.converted)
        spent = [p for p in dict.fromkeys(self.packs) if all_uses_in(p.results[0], converted)]
        converted.update(spent)
        position = {op: n for n, op in enumerate(self.body.ops)}
        self.converted = sorted(converted, key=position.__getitem__)
        for original, blocked in self.blocked.items():
            if all_uses_in(original, converted):
                continue
            back = graph.LayoutTransformOp(
                blocked, graph.blocked_layout(graph.block_of(blocked)), "NCHW"
            )
            Rewriter.insert_op(back, InsertPoint.after(blocked.owner))
            original.replace_uses_with_if(back.result, lambda u: u.operation not in converted)
            statistics.count("layout-transforms")
        for op in reversed(self.converted):
            operands = list(op.operands)
            Rewriter.erase_op(op)
            for value in operands:
                owner = value.owner
                if (
                    isinstance(owner, graph.WeightOp | graph.ConstantOp)
                    and owner.parent is not None
                    and not value.uses
                ):
                    Rewriter.erase_op(owner)


@dataclass(frozen=True)
class GraphAlterLayout(ModulePass):
    """Runs convolution chains in the blocked-channel layout NCHW{block}c, with layout
    transforms only where a chain begins and ends."""

    name = "graph-alter-layout"
    block: int | None = None
    min_convs: int = 2

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        block = self.block or target_block(op)
        params = params_of(ctx)
        for function in op.ops:
            if not isinstance(function, func.FuncOp) or not function.body.blocks:
                continue
            convertible = [
                inner
                for inner in function.body.block.ops
                if (
                    isinstance(inner, graph.ConvOp)
                    and conv_blocks(inner, block, None) is not None
                    or isinstance(inner, graph.ConvU8S8Op | graph.ConvBf16Op)
                    and packed_blocks(inner, block, None) is not None
                )
                and constant_value(inner.weight, params) is not None
            ]
            if len(convertible) < self.min_convs:
                continue
            relayout = Relayout(block, function.body.block, params)
            for inner in list(function.body.block.ops):
                relayout.convert(inner)
            relayout.finish()
