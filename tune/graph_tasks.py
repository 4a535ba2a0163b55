"""Graph tasks: choices above the kernels, tuned before them (the Winograd tile per
convolution).

graph-winograd decides per 3x3 convolution whether it runs direct or as Winograd's F(2x2)
or F(4x4), and so which kernels the model has at all: a kernel task cannot time that
choice. A graph task is one convolution signature as a standalone graph module (its blocked
input, its weight and bias as params), built from the graph passes on with each choice
and timed whole: the input transform, the GEMMs and the output transform, or the direct
kernel. Its space is at most three points, so `tune_model` measures each, times the
default and the best again in turns, and extracts the kernel tasks under the chosen tiles.

A graph task is a `Task` whose module is at the graph level (`kind = "graph"`): the same
records, measurer, worker and `apply_history_best` serve both.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ArrayAttr, DictionaryAttr, ModuleOp, StringAttr, TensorType
from xdsl.ir import Attribute, Block, Region

from ziggurat.core.context import ir_text, make_context
from ziggurat.core.pass_manager import PassManager
from ziggurat.core.pipelines import GRAPH_PASSES_BY_LEVEL
from ziggurat.core.targets import as_target
from ziggurat.dialects import graph
from ziggurat.dialects.target import CPU_ATTR, CpuTargetAttr
from ziggurat.passes.graph.constants import constant_value
from ziggurat.passes.graph.winograd import (
    TILE_KNOB,
    GraphWinograd,
    qualifies,
    tile_for,
    winograd_key,
)
from ziggurat.schedule.space import Config, ConfigSpace
from ziggurat.schedule.templates import register_count
from ziggurat.tune.tasks import Argument, Task


@dataclass
class GraphTask(Task):
    """A task whose module is a graph-level function (`kernel_ir` holds it whole)."""

    kind: ClassVar[str] = "graph"

    def module_text(self) -> str:
        return self.kernel_ir

    @property
    def context_bytes(self) -> int:
        """No copy kernels surround a graph task's module."""
        return 0


def _standalone(conv: graph.ConvNchwcOp) -> str:
    """The convolution alone: `@main(%a0) -> a3`, its weight and bias the params p1 and p2
    (the names `tune.candidate.random_feeds` gives arguments 1 and 2)."""
    block = Block(arg_types=[conv.input.type])
    weight = graph.WeightOp("p1", conv.weight.type)  # type: ignore[arg-type]
    bias = graph.WeightOp("p2", conv.bias.type)  # type: ignore[arg-type]
    mapping = {conv.input: block.args[0], conv.weight: weight.result, conv.bias: bias.result}
    copy = conv.clone(value_mapper=mapping)
    block.add_ops([weight, bias, copy, func.ReturnOp(copy.result)])

    def names(*values: str) -> ArrayAttr[DictionaryAttr]:
        return ArrayAttr([DictionaryAttr({graph.NAME_ATTR: StringAttr(v)}) for v in values])

    main = func.FuncOp(
        "main",
        ([conv.input.type], [conv.result.type]),
        Region(block),
        arg_attrs=names("a0"),
        res_attrs=names("a3"),
    )
    return ir_text(ModuleOp([main]))


def _argument(value_type: Attribute, role: str) -> Argument:
    assert isinstance(value_type, TensorType)
    return Argument(tuple(value_type.get_shape()), str(value_type.element_type), role)


def _space(tiles: list[int]) -> ConfigSpace:
    """Direct (0) and each Winograd tile: every point is timed, so none is left out."""
    space = ConfigSpace()
    space.define_knob(TILE_KNOB, [0, *tiles])
    return space


def extract_graph_tasks(
    mod: ModuleOp,
    target: str | CpuTargetAttr = "llvm -mcpu=native",
    params: Mapping[str, np.ndarray] | None = None,
    opt_level: int = 3,
) -> list[GraphTask]:
    """One task per signature of the convolutions graph-winograd may rewrite, heaviest
    first; none below opt_level 3 (which does not run graph-winograd). A task is named by
    its input (N x C x H x W) and output channels: `winograd_1x64x56x56_64`."""
    passes = GRAPH_PASSES_BY_LEVEL[opt_level]
    if "graph-winograd" not in passes:
        return []
    cpu = as_target(target)
    ctx = make_context({n: np.ascontiguousarray(v) for n, v in (params or {}).items()})
    module = mod.clone()
    module.attributes[CPU_ATTR] = cpu
    PassManager.parse(",".join(passes[: passes.index("graph-winograd")])).run(ctx, module)
    rules = GraphWinograd()
    found: dict[str, GraphTask] = {}
    for conv in [o for o in module.walk() if isinstance(o, graph.ConvNchwcOp)]:
        if not qualifies(conv, constant_value(conv.weight, ctx.params), rules.min_channels):
            continue
        key = winograd_key(conv)
        if key in found:
            found[key].weight += 1
            continue
        x, w, y = (graph.tensor_shape(v) for v in (conv.input, conv.weight, conv.result))
        default = tile_for(conv, 0, rules.min_tiles) or 0
        found[key] = GraphTask(
            key=key,
            name=f"winograd_{x[0]}x{x[1] * x[4]}x{x[2]}x{x[3]}_{y[1] * y[4]}",
            kernel_ir=_standalone(conv),
            arguments=(
                _argument(conv.input.type, "input"),
                _argument(conv.weight.type, "param"),
                _argument(conv.bias.type, "param"),
                _argument(conv.result.type, "output"),
            ),
            weight=1,
            flops=2 * int(np.prod(y)) * w[1] * w[4] * 9,
            space=_space(sorted(graph.WINOGRAD_TILES)),
            default=Config.of({TILE_KNOB: default}),
            target=cpu,
            lanes=cpu.vector_lanes(32),
            registers=register_count(cpu),
        )
    return sorted(found.values(), key=lambda t: -t.weight * t.flops)
