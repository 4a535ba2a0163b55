"""Buffers the compiled kernels can use, and the memory plan's shared storage.

Buffers are C-contiguous and 64-byte aligned, because the code generator marks every kernel
pointer `align 64` and emits aligned 512-bit vector accesses.

Memory plan (TVM's graph plan memory): the compiler gives each intermediate buffer an
`offset` into one arena of `arena_bytes`; two intermediates may overlap there only if no
launch lies in both their live ranges (first to last launch that uses them). The runtime checks
that before trusting the offsets, since a wrong plan would silently corrupt results.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ziggurat.runtime.errors import PlanError

ALIGNMENT = 64


def aligned_empty(
    shape: tuple[int, ...], dtype: np.dtype | str | type, align: int = ALIGNMENT
) -> np.ndarray:
    """An uninitialized C-contiguous array whose data starts on an `align`-byte boundary."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(int(d) for d in shape) * dtype.itemsize
    raw = np.empty(nbytes + align, dtype=np.uint8)
    offset = (-raw.ctypes.data) % align
    return raw[offset : offset + nbytes].view(dtype).reshape(shape)


def aligned_copy(array: np.ndarray, align: int = ALIGNMENT) -> np.ndarray:
    """A C-contiguous, `align`-byte aligned copy of `array`."""
    copy = aligned_empty(array.shape, array.dtype, align)
    copy[...] = array
    return copy


def buffer_bytes(spec: Mapping[str, Any]) -> int:
    """Bytes of a plan buffer, from its shape and dtype."""
    return math.prod(int(d) for d in spec["shape"]) * np.dtype(spec["dtype"]).itemsize


def aligned_bytes(spec: Mapping[str, Any]) -> int:
    """Bytes of a plan buffer rounded up to `ALIGNMENT`, as each aligned allocation takes."""
    return -(-buffer_bytes(spec) // ALIGNMENT) * ALIGNMENT


def live_ranges(
    launches: Sequence[Mapping[str, Any]],
    entry_uses: Sequence[Sequence[int]] = (),
    loops: Sequence[Sequence[int]] = (),
) -> dict[int, tuple[int, int]]:
    """Buffer index -> (first, last) position of the launches that use it. Inclusive at both
    ends, so a launch's inputs and outputs are always live together and never share storage.

    With control flow (plan keys `entry_uses` and `loops`): `entry_uses` are [position,
    buffer] pairs, buffers the entry itself reads or writes (a condition, a loop counter)
    before the launch at that position; `loops` are [first, last] launch positions of a
    loop, whose launches repeat, so a buffer live anywhere in one is live over all of it
    (inner loops first)."""
    ranges: dict[int, tuple[int, int]] = {}

    def use(index: int, position: int) -> None:
        first, last = ranges.get(index, (position, position))
        ranges[index] = (min(first, position), max(last, position))

    for position, launch in enumerate(launches):
        for index in launch["args"]:
            use(index, position)
    for position, index in entry_uses:
        use(index, position)
    for first, last in sorted(loops, key=lambda span: span[1] - span[0]):
        for index, (start, end) in list(ranges.items()):
            if start <= last and first <= end:
                ranges[index] = (min(start, first), max(end, last))
    return ranges


def validate_storage(plan: Mapping[str, Any]) -> None:
    """Raises PlanError unless every offset lies in the arena, is aligned, belongs to an
    intermediate, and overlaps no other buffer that is live at the same time."""
    buffers = plan["buffers"]
    placed = [n for n, b in enumerate(buffers) if "offset" in b]
    if not placed and "arena_bytes" not in plan:
        return
    arena = plan.get("arena_bytes")
    if not isinstance(arena, int) or isinstance(arena, bool) or arena < 0:
        raise PlanError(f"plan arena_bytes is {arena!r}; expected a non-negative int")
    extents: list[tuple[int, int, int]] = []
    for index in placed:
        spec, offset = buffers[index], buffers[index]["offset"]
        label = f"buffer {index} ({spec['name']!r})"
        if spec["kind"] != "intermediate":
            raise PlanError(f"{label} of kind {spec['kind']!r} has an arena offset")
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise PlanError(f"{label} has offset {offset!r}; expected a non-negative int")
        if offset % ALIGNMENT:
            raise PlanError(f"{label} has offset {offset}, not a multiple of {ALIGNMENT}")
        end = offset + buffer_bytes(spec)
        if end > arena:
            raise PlanError(f"{label} ends at byte {end}, past the {arena}-byte arena")
        if end > offset:
            extents.append((offset, end, index))
    ranges = live_ranges(plan["launches"], plan.get("entry_uses", ()), plan.get("loops", ()))
    extents.sort()
    for n, (_, end, index) in enumerate(extents):
        for other_offset, _, other in extents[n + 1 :]:
            if other_offset >= end:
                break
            if index in ranges and other in ranges:
                (first, last), (other_first, other_last) = ranges[index], ranges[other]
                if first <= other_last and other_first <= last:
                    raise PlanError(
                        f"buffers {buffers[index]['name']!r} and {buffers[other]['name']!r} "
                        f"share arena bytes while both are live (launches {max(first, other_first)}"
                        f" to {min(last, other_last)})"
                    )


@dataclass(frozen=True)
class MemoryReport:
    """Bytes a GraphModule allocates, with the intermediates' planned arena against what
    giving each intermediate its own allocation would take."""

    planned_bytes: int
    naive_bytes: int
    intermediates: int
    param_bytes: int
    io_bytes: int

    @property
    def saving(self) -> float:
        """Fraction of the naive intermediate bytes the plan saves."""
        return 1 - self.planned_bytes / self.naive_bytes if self.naive_bytes else 0.0

    def __str__(self) -> str:
        mib = 1 << 20
        return (
            f"intermediates: {self.intermediates} buffers, {self.planned_bytes / mib:.2f} MiB "
            f"planned vs {self.naive_bytes / mib:.2f} MiB naive ({self.saving:.0%} saved); "
            f"params {self.param_bytes / mib:.2f} MiB, inputs and outputs "
            f"{self.io_bytes / mib:.2f} MiB"
        )


def memory_report(plan: Mapping[str, Any]) -> MemoryReport:
    buffers = plan["buffers"]
    intermediates = [b for b in buffers if b["kind"] == "intermediate"]
    naive = sum(aligned_bytes(b) for b in intermediates)
    unplaced = sum(buffer_bytes(b) for b in intermediates if "offset" not in b)
    params = {b["name"]: buffer_bytes(b) for b in buffers if b["kind"] == "param"}
    return MemoryReport(
        planned_bytes=plan.get("arena_bytes", 0) + unplaced,
        naive_bytes=naive,
        intermediates=len(intermediates),
        param_bytes=sum(params.values()),
        io_bytes=sum(buffer_bytes(b) for b in buffers if b["kind"] in ("input", "output")),
    )
