"""How much memory a compiled model may ask for, checked before anything is allocated.

A model's buffers (params, inputs, outputs, the memory plan's arena and any unplaced
intermediates) must fit in the limit: `ZIGGURAT_MEMORY_LIMIT` (bytes, or with a K/M/G/T
suffix: `512M`, `8G`), else the memory this machine has available now (MemAvailable), else
no limit where the system does not say. A model over the limit is refused at build and at
load with its largest tensors' names and bytes: a dim of 2**40 is one clear error, not an
allocation failure halfway through a run.
"""

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from ziggurat.runtime.errors import ResourceLimitError

LIMIT_VARIABLE = "ZIGGURAT_MEMORY_LIMIT"
SUFFIXES = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_bytes(text: str) -> int:
    """`123`, `512M`, `8G` (binary units, an optional trailing B) as a number of bytes."""
    cleaned = text.strip().upper().removesuffix("B")
    has_suffix = cleaned[-1:] in ("K", "M", "G", "T")
    number, suffix = (cleaned[:-1], cleaned[-1]) if has_suffix else (cleaned, "")
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if not value > 0 or value != value:
        raise ResourceLimitError(
            f"{LIMIT_VARIABLE}={text!r} is not a size; give bytes or e.g. 512M, 8G"
        )
    return int(value * SUFFIXES[suffix])


def available_memory() -> int | None:
    """Bytes this machine can give now without swapping, or None where it does not say."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                key, _, value = line.partition(":")
                if key == "MemAvailable":
                    return int(value.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def memory_limit() -> int | None:
    """The byte limit a model's buffers must fit in, or None for no limit."""
    configured = os.environ.get(LIMIT_VARIABLE)
    if configured:
        return parse_bytes(configured)
    return available_memory()


def _spec_bytes(spec: Mapping[str, Any]) -> int:
    count = 1
    for dim in spec["shape"]:
        count *= int(dim)
    return count * np.dtype(spec["dtype"]).itemsize


def limit_text(limit: int) -> str:
    """The limit as error messages name it, with where it comes from."""
    return f"{size_text(limit)} ({LIMIT_VARIABLE} or the memory available)"


def size_text(count: int) -> str:
    """A byte count as people read it: exact below a MiB, in MiB above."""
    return f"{count:,} bytes" if count < 1 << 20 else f"{count / (1 << 20):,.1f} MiB"


def check_plan_memory(plan: Mapping[str, Any], source: str = "the model") -> None:
    """Raises ResourceLimitError if one execution context of `plan` (with its params) would
    not fit in `memory_limit()`, naming the largest buffers. Exact integer arithmetic, so a
    dim of 2**40 cannot overflow into a small number."""
    limit = memory_limit()
    if limit is None:
        return
    sized = [(_spec_bytes(spec), spec) for spec in plan["buffers"]]
    seen_params: set[str] = set()
    total = int(plan.get("arena_bytes", 0) or 0)
    for count, spec in sized:
        if spec["kind"] == "intermediate" and "offset" in spec:
            continue
        if spec["kind"] == "param":
            if spec["name"] in seen_params:
                continue
            seen_params.add(spec["name"])
        total += count
    if total <= limit:
        return
    largest = sorted(sized, key=lambda item: -item[0])[:3]
    listed = ", ".join(
        f"{spec['kind']} {spec['name']!r} {spec['dtype']}{list(spec['shape'])} ({size_text(count)})"
        for count, spec in largest
    )
    raise ResourceLimitError(
        f"{source} needs {size_text(total)} of buffers but the limit is {limit_text(limit)}; "
        f"largest: {listed}"
    )
