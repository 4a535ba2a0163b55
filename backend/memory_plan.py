"""The memory plan: intermediate buffers share one arena by liveness (TVM's graph plan
memory), decided at build time and stored in the plan as byte offsets.

Algorithm (greedy by size, as TFLite's arena planner):
1. Live range of each intermediate: the first and last launch that uses it, inclusive, so a
   launch's inputs and outputs are live together and never overlap (no in-place hazard), and a
   buffer read by a later launch stays reserved until then.
2. Largest buffers first (ties by first use), each at the lowest 64-byte aligned offset where
   it overlaps no already placed buffer whose live range meets its own.
3. The arena is the highest end offset.

Inputs, outputs and params keep their own storage: the caller and the params store own them.
The runtime checks the result (runtime/memory.py) before it trusts the offsets.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from ziggurat.runtime.memory import ALIGNMENT, aligned_bytes, buffer_bytes, live_ranges


def _aligned(size: int) -> int:
    return -(-size // ALIGNMENT) * ALIGNMENT


def plan_memory(
    buffers: Sequence[Mapping[str, Any]],
    launches: Sequence[Mapping[str, Any]],
    ranges: Mapping[int, tuple[int, int]] | None = None,
) -> tuple[dict[int, int], int]:
    """(offset of each intermediate buffer index, arena bytes); `ranges` replaces the live
    ranges read off the launches when the entry has control flow (backend/control_plan.py)."""
    if ranges is None:
        ranges = live_ranges(launches)
    intermediates = [n for n, b in enumerate(buffers) if b["kind"] == "intermediate"]
    order = sorted(
        intermediates,
        key=lambda n: (-buffer_bytes(buffers[n]), ranges.get(n, (-1, -1))[0], n),
    )
    placed: list[tuple[int, int, int]] = []  # (offset, end, buffer index)
    offsets: dict[int, int] = {}
    for index in order:
        size = aligned_bytes(buffers[index])
        first, last = ranges.get(index, (-1, -2))
        conflicts = sorted(
            (offset, end)
            for offset, end, other in placed
            if other in ranges and ranges[other][0] <= last and first <= ranges[other][1]
        )
        offset = 0
        for start, end in conflicts:
            if offset + size <= start:
                break
            offset = max(offset, _aligned(end))
        offsets[index] = offset
        placed.append((offset, offset + size, index))
    arena = max((end for _, end, _ in placed), default=0)
    return offsets, arena
