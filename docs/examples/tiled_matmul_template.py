"""A tunable template of one's own: matmul kernels as a register tile whose size, row
unrolling and parallel loop the tuner chooses."""

from xdsl.dialects import func

from ziggurat.dialects import sched
from ziggurat.plugins import Knobs, register_template
from ziggurat.schedule.schedule import Schedule
from ziggurat.schedule.templates import is_reduction_nest, spatial_chain


def is_matmul(kernel: func.FuncOp) -> bool:
    """One nest of two spatial loops over a reduction, `for i: for j: acc = sum_k ...`, with
    columns in multiples of 8."""
    nests = [op for op in kernel.body.block.ops if isinstance(op, sched.ForOp)]
    if len(nests) != 1:
        return False
    chain = spatial_chain(nests[0])
    return len(chain) == 2 and is_reduction_nest(chain) and chain[1].trip_count % 8 == 0


@register_template("tiled_matmul", matches=is_matmul)
def tiled_matmul(cfg: Knobs, s: Schedule) -> None:
    rows = cfg.define_split("tile_rows", s.loop("i0").trip_count, max_factor=8, default=4)
    cols = cfg.define_knob(
        "tile_cols", [c for c in (8, 16, 32) if s.loop("i1").trip_count % c == 0]
    )
    io, ii = s.split("i0", rows)
    jo, ji = s.split("i1", int(cols))
    s.reorder(io, jo, ii, ji)
    s.cache_write(ii, ji)
    s.reorder("r0", ii, ji)
    cfg.annotate("rows", ii, ["unroll", "none"])
    s.vectorize(ji)
    cfg.annotate("outer", io, ["parallel", "none"])
