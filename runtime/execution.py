"""One execution context: a private copy of everything a run of a plan writes.

Each context owns its inputs, outputs and the memory plan's arena (intermediates are views
into it at the plan's offsets), all 64-byte aligned (the kernels assume it); params are the
module's shared read-only copies. The ctypes call objects and their pointer arguments are
built once, so a run is one native call (the entry) or one call per kernel, with no
allocation. A context serves one run at a time; concurrent runs use one context each.
"""

import ctypes
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ziggurat.runtime.dtypes import numeric_kind
from ziggurat.runtime.errors import PlanError, RunError, RuntimeInputError
from ziggurat.runtime.memory import aligned_empty
from ziggurat.runtime.threads import attach_openmp, begin_native_call, end_native_call

CHECK_PREFIX = "ziggurat.check: "
"""Model outputs named so become check buffers (runtime/module.py); the rest of the name is
the message the run fails with when the check is set."""

ROWS_PREFIX = "ziggurat.rows: "
"""Model outputs named so become rows buffers (runtime/module.py): an int64 count of the rows
the output named by the rest of the name holds after a run (a Loop's scan output, allocated
for the whole trip count, when the loop may end early); the runtime returns those rows."""

if TYPE_CHECKING:
    from ziggurat.runtime.module import Module

KernelCall = tuple[Callable[..., None], tuple[ctypes.c_void_p, ...]]


def _convertible(source: np.dtype, target: np.dtype) -> bool:
    """Float to float converts (numpy's float64 default meets float32 models); any other dtype
    change must be lossless within its kind, so int64 ids never wrap silently into int32."""
    if numeric_kind(source) != numeric_kind(target):
        return False
    return numeric_kind(source) == "f" or np.can_cast(source, target, "safe")


class ExecutionContext:
    """Buffers and native calls for running `lib`'s plan; `use_entry` as in GraphModule."""

    def __init__(self, lib: "Module", use_entry: bool | None = None):
        self.lib = lib
        plan = lib.plan
        entry = plan.get("entry")
        if use_entry and not entry:
            raise PlanError("use_entry=True but the plan has no entry function")
        self.arena = aligned_empty((plan.get("arena_bytes", 0),), np.uint8)
        self.arena[...] = 0
        params = lib.bound_params()
        self.buffers: list[np.ndarray] = [
            params[spec["name"]] if spec["kind"] == "param" else self._allocate(spec)
            for spec in plan["buffers"]
        ]
        self.inputs: list[np.ndarray] = [self.buffers[i] for i in plan["inputs"]]
        self.outputs: list[np.ndarray] = [self.buffers[i] for i in plan["outputs"]]
        self.checks: list[tuple[np.ndarray, str]] = [
            (self.buffers[i], plan["buffers"][i]["name"].removeprefix(CHECK_PREFIX))
            for i in plan.get("checks", [])
        ]
        self.full_outputs = list(self.outputs)
        output_names = [plan["buffers"][i]["name"] for i in plan["outputs"]]
        self.row_counts: list[tuple[int, np.ndarray]] = [
            (
                output_names.index(plan["buffers"][i]["name"].removeprefix(ROWS_PREFIX)),
                self.buffers[i],
            )
            for i in plan.get("rows", [])
        ]
        self.unset_inputs: set[int] = set(range(len(self.inputs)))
        self._labels = lib.input_names
        self._pointers = [ctypes.c_void_p(buffer.ctypes.data) for buffer in self.buffers]
        self._table = (ctypes.c_void_p * len(self._pointers))(*self._pointers)
        self._entry: tuple[Callable[[ctypes.c_void_p], None], ctypes.c_void_p] | None = None
        self._kernel_calls: list[KernelCall] | None = None
        if entry and use_entry is not False:
            function = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(lib.get_function(entry))
            self._entry = (function, ctypes.c_void_p(ctypes.addressof(self._table)))
        else:
            self._kernel_calls = self.kernel_calls()
        attach_openmp()

    def _allocate(self, spec: Mapping[str, Any]) -> np.ndarray:
        """A planned intermediate is a view into the arena; any other buffer is its own."""
        shape, dtype = tuple(spec["shape"]), np.dtype(spec["dtype"])
        if "offset" in spec:
            size = math.prod(int(d) for d in shape) * dtype.itemsize
            start = spec["offset"]
            return self.arena[start : start + size].view(dtype).reshape(shape)
        array = aligned_empty(shape, dtype)
        array[...] = 0
        return array

    @property
    def uses_entry(self) -> bool:
        return self._entry is not None

    def kernel_calls(self) -> list[KernelCall]:
        """One (function, pointer arguments) pair per launch, in plan order; made once. A
        plan with control flow (If, Loop) runs only through its entry: its launches in plan
        order are not a run."""
        if self.lib.plan.get("control_flow"):
            raise RunError(
                "the model has control flow (If, Loop or Scan): it runs only through its "
                "native entry, so per-kernel dispatch and per-kernel profiles are not available"
            )
        if self._kernel_calls is None:
            calls: list[KernelCall] = []
            for launch in self.lib.plan["launches"]:
                args = tuple(self._pointers[i] for i in launch["args"])
                prototype = ctypes.CFUNCTYPE(None, *([ctypes.c_void_p] * len(args)))
                calls.append((prototype(self.lib.get_function(launch["kernel"])), args))
            self._kernel_calls = calls
        return self._kernel_calls

    def checked_input(self, position: int, value: object) -> np.ndarray:
        """`value` as an array that fits input `position`, or a RuntimeInputError."""
        target = self.inputs[position]
        label = self._labels[position]
        array = np.asarray(value)
        if array.shape != target.shape:
            raise RuntimeInputError(
                f"input {label!r} expects shape {list(target.shape)}, got {list(array.shape)}"
            )
        if array.dtype != target.dtype and not _convertible(array.dtype, target.dtype):
            raise RuntimeInputError(
                f"input {label!r} expects dtype {target.dtype}, got {array.dtype} "
                f"(convert it with .astype(np.{target.dtype}) if that is intended)"
            )
        return array

    def copy_inputs(self, checked: list[tuple[int, np.ndarray]]) -> None:
        """Copies already checked arrays into their input buffers."""
        for position, array in checked:
            np.copyto(self.inputs[position], array, casting="same_kind")
        if self.unset_inputs:
            self.unset_inputs.difference_update(position for position, _ in checked)

    def launch(self) -> None:
        """Runs the plan once over this context's buffers."""
        begin_native_call()
        try:
            if self._entry is not None:
                function, table = self._entry
                function(table)
            else:
                for function, args in self.kernel_calls():
                    function(*args)
        finally:
            end_native_call()
        for position, count in self.row_counts:
            full = self.full_outputs[position]
            rows = min(max(int(count.reshape(-1)[0]), 0), len(full))
            self.outputs[position] = full[:rows]
        if self.checks:
            self._raise_failed_checks()

    def _raise_failed_checks(self) -> None:
        """Raises RunError naming what went wrong if a check buffer was set, and clears every
        check for the next run."""
        failed = [message for buffer, message in self.checks if buffer.any()]
        for buffer, _ in self.checks:
            buffer[...] = 0
        if failed:
            raise RunError("the run failed: " + "; ".join(failed))
