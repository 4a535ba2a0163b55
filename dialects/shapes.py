"""Shape rules shared by the graph ops' verifiers, builders and the frontend.

Plain Python on tuples of ints: every rule raises ValueError with a sentence that names the
shapes, so a verifier or an importer can wrap it with its own location.
"""

from collections.abc import Sequence

Shape = tuple[int, ...]


def broadcast_shapes(lhs: Sequence[int], rhs: Sequence[int]) -> Shape:
    """The numpy broadcast of two shapes (right-aligned, size-1 dimensions stretch)."""
    rank = max(len(lhs), len(rhs))
    left = (1,) * (rank - len(lhs)) + tuple(lhs)
    right = (1,) * (rank - len(rhs)) + tuple(rhs)
    out: list[int] = []
    for a, b in zip(left, right, strict=True):
        if a != b and a != 1 and b != 1:
            raise ValueError(f"shapes {list(lhs)} and {list(rhs)} do not broadcast")
        out.append(b if a == 1 else a)
    return tuple(out)


def matmul_shape(
    lhs: Sequence[int], rhs: Sequence[int], transpose_a: bool = False, transpose_b: bool = False
) -> Shape:
    """numpy.matmul's result shape for operands of rank >= 2, after optional transposes of
    the last two dimensions; leading (batch) dimensions broadcast."""
    if len(lhs) < 2 or len(rhs) < 2:
        raise ValueError(f"matmul operands need rank >= 2, got {list(lhs)} and {list(rhs)}")
    m, k = (lhs[-1], lhs[-2]) if transpose_a else (lhs[-2], lhs[-1])
    k2, n = (rhs[-1], rhs[-2]) if transpose_b else (rhs[-2], rhs[-1])
    if k != k2:
        raise ValueError(
            f"matmul contraction sizes differ: {k} (lhs {list(lhs)}) vs {k2} (rhs {list(rhs)})"
        )
    batch = broadcast_shapes(lhs[:-2], rhs[:-2])
    return (*batch, m, n)


def normalize_axis(axis: int, rank: int) -> int:
    """An axis in [-rank, rank) as a non-negative index."""
    if not -rank <= axis < rank:
        raise ValueError(f"axis {axis} is out of range for rank {rank}")
    return axis % rank if rank else 0


def num_elements(shape: Sequence[int]) -> int:
    count = 1
    for dim in shape:
        count *= dim
    return count
