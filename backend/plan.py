"""The execution plan the runtime runs: buffers and kernel launches, read off `target.entry`,
with each launch's flop count (backend/flop_count.py) and the memory plan's arena offsets
(backend/memory_plan.py).

The plan is plain JSON data (see runtime/module.py for its format), so a compiled model can be
saved and run where only numpy is installed.
"""

from typing import Any

import numpy as np
from xdsl.dialects.builtin import MemRefType, ModuleOp

from ziggurat.backend.control_plan import buffer_indices, control_events, has_control_flow
from ziggurat.backend.flop_count import kernel_flops
from ziggurat.backend.memory_plan import plan_memory
from ziggurat.core.errors import CompileError
from ziggurat.dialects import target
from ziggurat.runtime.execution import CHECK_PREFIX, ROWS_PREFIX
from ziggurat.runtime.memory import live_ranges

PLAN_VERSION = 1

DTYPES = {"f32": "float32", "f64": "float64", "f16": "float16", "bf16": "bfloat16",
          "i64": "int64", "i32": "int32", "i16": "int16", "i8": "int8", "i1": "bool",
          "ui64": "uint64", "ui32": "uint32", "ui16": "uint16", "ui8": "uint8"}  # fmt: skip


def dtype_name(buffer: MemRefType) -> str:
    name = str(buffer.element_type)
    if name not in DTYPES:
        raise CompileError(f"buffers of {name} are not supported by the runtime.")
    return DTYPES[name]


def entry_of(module: ModuleOp) -> target.EntryOp:
    entries = [op for op in module.ops if isinstance(op, target.EntryOp)]
    if len(entries) != 1:
        raise CompileError(f"expected one target.entry in the module, found {len(entries)}.")
    return entries[0]


def plan_from_module(module: ModuleOp, params: dict[str, np.ndarray]) -> dict[str, Any]:
    """The plan of the module's target.entry, intermediates placed in a shared arena by
    liveness; checks every param it binds is in `params`. Launches of kernels not yet at the
    target level count 0 flops until `set_flops`."""
    entry = entry_of(module)
    buffers: list[dict[str, Any]] = []
    for op in entry.buffers:
        buffer = op.result.type
        assert isinstance(buffer, MemRefType)
        if op.kind.data == "param" and op.buffer_name.data not in params:
            raise CompileError(f"weight {op.buffer_name.data!r} is missing from the params.")
        kind = op.kind.data
        if kind == "output" and op.buffer_name.data.startswith(CHECK_PREFIX):
            kind = "check"
        if kind == "output" and op.buffer_name.data.startswith(ROWS_PREFIX):
            kind = "rows"
        buffers.append(
            {
                "name": op.buffer_name.data,
                "kind": kind,
                "shape": list(buffer.get_shape()),
                "dtype": dtype_name(buffer),
            }
        )
    index = buffer_indices(entry)
    flops = {
        op.sym_name.data: kernel_flops(op) for op in module.ops if isinstance(op, target.KernelOp)
    }
    launches = [
        {
            "kernel": op.callee.string_value(),
            "args": [index[a] for a in op.args],
            "flops": flops.get(op.callee.string_value(), 0),
        }
        for op in entry.launches
    ]
    plan: dict[str, Any] = {
        "version": PLAN_VERSION,
        "buffers": buffers,
        "inputs": [n for n, b in enumerate(buffers) if b["kind"] == "input"],
        "outputs": [n for n, b in enumerate(buffers) if b["kind"] == "output"],
        "checks": [n for n, b in enumerate(buffers) if b["kind"] == "check"],
        "launches": launches,
        "entry": entry.sym_name.data,
    }
    rows = [n for n, b in enumerate(buffers) if b["kind"] == "rows"]
    if rows:
        plan["rows"] = rows
    ranges = None
    if has_control_flow(entry):
        plan["control_flow"] = True
        plan["entry_uses"], plan["loops"] = control_events(entry)
        ranges = live_ranges(launches, plan["entry_uses"], plan["loops"])
    offsets, plan["arena_bytes"] = plan_memory(buffers, launches, ranges)
    for buffer_index, offset in offsets.items():
        buffers[buffer_index]["offset"] = offset
    return plan


def set_flops(execution_plan: dict[str, Any], flops: dict[str, int]) -> None:
    """Each launch's flop count from `flops` (by kernel name), as counted where the kernels
    were lowered to the target level."""
    for launch in execution_plan["launches"]:
        launch["flops"] = flops.get(launch["kernel"], launch["flops"])
