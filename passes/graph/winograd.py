"""graph-winograd: 3x3 stride-1 convolutions in the blocked layout as Winograd's F(m x m, 3 x 3)
(TVM's conv2d_winograd, chosen at opt_level 3 by AlterOpLayout): a graph.conv_nchwc becomes

    %v = graph.winograd_input %x            [alpha^2, tiles, C]   (B^T d B)
    %m = graph.matmul %v, %u                [alpha^2, tiles, K]   (one GEMM per position)
    %y = graph.winograd_output %m, %bias    NCHW[x]c              (A^T m A + bias)

with u = G g G^T computed from the constant weight now, a new weight in the params store.
The GEMMs do (m + 2)^2 / (9 m^2) of the convolution's multiplications: 0.44 for m = 2, 0.25
for m = 4, at the price of the two transforms, which read and write every tile.

A conv_nchwc qualifies when it has one group, a 3x3 filter of plain blocks (input channels
blocked as its input), stride 1, dilation 1 and a constant weight with at least
`min-channels` input channels, and its output makes at least `min-tiles` tiles: below that
(ResNet-18's 7x7 stage: 16 tiles of 2x2) each transformed weight, 1.8x (m = 2) or 4x
(m = 4) the original, is read for too few rows and the GEMMs wait on memory. `tile` = 0, the
default, takes per convolution the largest m that still gives `min-tiles` tiles: on
ResNet-18, F(4x4) at 56x56 and 28x28, F(2x2) at 14x14 (6.7 ms against 7.5 with F(2x2)
throughout, measured in one run).

Under `tune.apply_history_best` (or `use_configs`) a convolution whose signature has a tuned
config takes its `winograd_tile` instead (0: the direct convolution): the choice decides
which kernels exist, so the tuner times it on the convolution alone (`tune.graph_tasks`)
before tuning the kernels it leads to. An explicit `tile` option wins over both.

Runs after graph-alter-layout (which makes the blocked convolutions) and before
graph-fuse-ops, which fuses each graph.winograd_output with its elementwise consumers as it
would the convolution.
"""

import hashlib
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, f32
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from ziggurat.core import statistics
from ziggurat.core.context import params_of
from ziggurat.core.errors import CompileError
from ziggurat.core.reference import transform_layout
from ziggurat.dialects import graph
from ziggurat.passes.graph.constants import constant_value, make_constant
from ziggurat.schedule.dispatch import config_for, is_strict

TILE_KNOB = "winograd_tile"
"""The knob of a convolution's Winograd choice: an output tile size, or 0 for direct."""


def winograd_key(conv: graph.ConvNchwcOp) -> str:
    """The dispatch key of a convolution's Winograd choice: its operand types and window,
    so convolutions of one signature (in any model) share it."""
    signature = [
        "graph-winograd",
        *(str(v.type) for v in (conv.input, conv.weight, conv.bias)),
        *(str(values) for values in (conv.stride_values, conv.pad_values, conv.dilation_values)),
    ]
    return hashlib.sha256("|".join(signature).encode()).hexdigest()[:24]


def tuned_tile(conv: graph.ConvNchwcOp) -> int | None:
    """The tile a tuned config gives the convolution (0: direct), or None without one."""
    config = config_for(winograd_key(conv))
    if config is None:
        return None
    tile = config.get(TILE_KNOB)
    if tile != 0 and tile not in graph.WINOGRAD_TILES:
        if is_strict():
            raise CompileError(f"graph-winograd: a config's {TILE_KNOB} is {tile!r}.")
        return None
    assert isinstance(tile, int)
    return tile


def tile_for(conv: graph.ConvNchwcOp, tile: int, min_tiles: int) -> int | None:
    """The output tile size for `conv`: `tile`, or with 0 the largest of WINOGRAD_TILES that
    still gives `min_tiles` tiles; None when it gives fewer."""
    out = graph.tensor_shape(conv.result)
    for size in [tile] if tile else sorted(graph.WINOGRAD_TILES, reverse=True):
        rows, cols = graph.tile_grid(out[2], out[3], size)
        if out[0] * rows * cols >= min_tiles:
            return size
    return None


def qualifies(conv: graph.ConvNchwcOp, weight: np.ndarray | None, min_channels: int) -> bool:
    x, w = graph.tensor_shape(conv.input), graph.tensor_shape(conv.weight)
    return (
        weight is not None
        and graph.element_type_of(conv.input) == f32
        and conv.groups.value.data == 1
        and tuple(w[2:4]) == (3, 3)
        and w[4] == x[4]
        and w[1] * w[4] >= min_channels
        and conv.stride_values == (1, 1)
        and conv.dilation_values == (1, 1)
    )


def transformed_weight(weight: np.ndarray, tile: int) -> np.ndarray:
    """G g G^T of a blocked OIHW{i}i{o}o weight, as [alpha^2, input channels, outputs]."""
    oihw = transform_layout(
        weight, graph.blocked_weight_layout(weight.shape[4], weight.shape[5]), "OIHW"
    )
    _, g, _ = graph.winograd_matrices(tile)
    u = np.einsum("ia,kcab,jb->ijck", g, oihw.astype(np.float64), g)
    alpha = tile + 2
    return np.ascontiguousarray(u.reshape(alpha * alpha, oihw.shape[1], oihw.shape[0]), np.float32)


@dataclass(frozen=True)
class GraphWinograd(ModulePass):
    """Rewrites qualifying 3x3 blocked convolutions as Winograd transforms around a batched
    GEMM with the weight transformed at build time."""

    name = "graph-winograd"
    tile: int = 0
    min_channels: int = 16
    min_tiles: int = 32

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if self.tile and self.tile not in graph.WINOGRAD_TILES:
            raise CompileError(
                f"graph-winograd: tile must be 0 (chosen per convolution) or "
                f"{' or '.join(map(str, graph.WINOGRAD_TILES))}, got {self.tile}."
            )
        params = params_of(ctx)
        for conv in [o for o in op.walk() if isinstance(o, graph.ConvNchwcOp)]:
            weight = constant_value(conv.weight, params)
            if not qualifies(conv, weight, self.min_channels):
                continue
            tile = None if self.tile else tuned_tile(conv)
            if tile is None:
                tile = tile_for(conv, self.tile, self.min_tiles)
            if not tile:
                continue
            assert weight is not None
            u = make_constant(transformed_weight(weight, tile), params, "winograd_weight")
            v = graph.WinogradInputOp(conv.input, tile, conv.pad_values)
            m = graph.MatmulOp(v.result, u.results[0])
            y = graph.WinogradOutputOp(m.result, conv.bias, tile, graph.tensor_shape(conv.result))
            Rewriter.insert_op([u, v, m, y], InsertPoint.before(conv))
            conv.result.replace_all_uses_with(y.result)
            old_weight = conv.weight.owner
            Rewriter.erase_op(conv)
            if (
                isinstance(old_weight, graph.WeightOp | graph.ConstantOp)
                and not old_weight.result.uses
            ):
                Rewriter.erase_op(old_weight)
            statistics.count("convs-to-winograd")
