"""The row template: a kernel of several nests over the same rows runs them row by row.

Softmax and layer norm lower to a few nests over the same outer loops (a row's max, its
exponentials, their sum, the quotients): each nest alone is too small to be worth a
fork-join, and each reads back what the one before wrote for the whole tensor. Merged with
`compute_at` level by level over their common outer loops, they become one nest whose rows
run in parallel, each row's stages back to back while its data is in L1; the innermost
elementwise loops are then vectorized.

The template refuses (ScheduleError) when the kernel has one nest, when two consecutive
nests share no outer loop, or when a nest is a reduction the register-tile template takes
(a GEMM would lose its tile inside a row loop).
"""

from collections.abc import Callable

from ziggurat.dialects import sched
from ziggurat.schedule import loop_transforms as lt
from ziggurat.schedule.schedule import Schedule


def _same_range(a: sched.ForOp, b: sched.ForOp) -> bool:
    return (a.lower.data, a.upper.data, a.step.data) == (b.lower.data, b.upper.data, b.step.data)


def merge_row_nests(
    s: Schedule,
    chain_of: Callable[[sched.ForOp], list[sched.ForOp]],
    tiles: Callable[[sched.ForOp], bool],
    lanes: int,
) -> None:
    """Merges the kernel's nests over their common outer loops (`chain_of` gives a nest's
    perfectly nested spatial loops; `tiles` says whether a nest takes the register tile),
    then vectorizes the merged nest's innermost elementwise loops by `lanes`."""
    nests = [op for op in s.kernel.body.block.ops if isinstance(op, sched.ForOp)]
    if len(nests) < 2:
        raise lt.ScheduleError("one nest: nothing to merge.")
    if any(tiles(nest) for nest in nests):
        raise lt.ScheduleError("a nest takes the register tile.")
    current = nests[0]
    for following in nests[1:]:
        producer, consumer = chain_of(current), chain_of(following)
        common = 0
        while common < min(len(producer), len(consumer)) and _same_range(
            producer[common], consumer[common]
        ):
            common += 1
        if common == 0:
            raise lt.ScheduleError("two nests share no outer loop.")
        pairs = zip(producer[:common], consumer[:common], strict=True)
        for outer, inner in [(lt.loop_name(p), lt.loop_name(c)) for p, c in pairs]:
            s.compute_at(outer, inner)
        current = following
    innermost = [
        lt.loop_name(loop)
        for loop in current.walk()
        if isinstance(loop, sched.ForOp)
        and not any(isinstance(op, sched.ForOp) for op in lt.body_ops(loop))
        and not lt.is_reduce(loop)
        and loop.trip_count >= lanes
        and loop.step.data == 1
    ]
    for name in innermost:
        _, vector = s.split(name, lanes)
        s.vectorize(vector)
