"""GraphModule: runs a compiled model on numpy arrays, like TVM's graph executor.

Every buffer is allocated once, 64-byte aligned (the kernels assume it), and reused across
runs; intermediates are views into one arena at the memory plan's offsets. ctypes call
objects and their pointer arguments are built once, so a run is one native call (the entry)
or one call per kernel, with no allocation.
"""

import ctypes
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ziggurat.runtime.benchmark import BenchmarkResult, measure
from ziggurat.runtime.errors import PlanError, RuntimeInputError
from ziggurat.runtime.memory import MemoryReport, aligned_empty
from ziggurat.runtime.module import Module
from ziggurat.runtime.profiler import ProfileReport, TimedLaunch, profile_launches

__all__ = ["GraphModule", "RuntimeInputError", "aligned_empty"]

NameOrIndex = str | int | np.integer
KernelCall = tuple[Callable[..., None], tuple[ctypes.c_void_p, ...]]


def _convertible(source: np.dtype, target: np.dtype) -> bool:
    """Float to float converts (numpy's float64 default meets float32 models); any other dtype
    change must be lossless within its kind, so int64 ids never wrap silently into int32."""
    if source.kind != target.kind:
        return False
    return source.kind == "f" or np.can_cast(source, target, "safe")


class GraphModule:
    """Runs `lib`'s plan. The entry runs the whole model in one native call when the plan has
    one; `use_entry=False` calls each kernel in turn instead (to profile or bisect), and
    `use_entry=True` insists on the entry.

    Params are shared, read-only, with every GraphModule of the same `lib`; all other buffers
    belong to this GraphModule, so one GraphModule must not run on two threads at once.
    """

    def __init__(self, lib: Module, use_entry: bool | None = None):
        self.lib = lib
        plan = lib.plan
        entry = plan.get("entry")
        if use_entry and not entry:
            raise PlanError("use_entry=True but the plan has no entry function")
        self._arena = aligned_empty((plan.get("arena_bytes", 0),), np.uint8)
        self._arena[...] = 0
        params = lib.bound_params()
        self._buffers: list[np.ndarray] = [
            params[spec["name"]] if spec["kind"] == "param" else self._allocate(spec)
            for spec in plan["buffers"]
        ]
        self._inputs: list[int] = list(plan["inputs"])
        self._outputs: list[int] = list(plan["outputs"])
        self._input_position = {name: n for n, name in enumerate(lib.input_names)}
        self._output_position = {name: n for n, name in enumerate(lib.output_names)}
        self._pointers = [ctypes.c_void_p(buffer.ctypes.data) for buffer in self._buffers]
        self._table = (ctypes.c_void_p * len(self._pointers))(*self._pointers)
        self._entry: tuple[Callable[[ctypes.c_void_p], None], ctypes.c_void_p] | None = None
        self._kernel_calls: list[KernelCall] | None = None
        if entry and use_entry is not False:
            function = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(lib.get_function(entry))
            self._entry = (function, ctypes.c_void_p(ctypes.addressof(self._table)))
        else:
            self._kernel_calls = self._make_kernel_calls()

    def _allocate(self, spec: Mapping[str, Any]) -> np.ndarray:
        """A planned intermediate is a view into the arena; any other buffer is its own."""
        shape, dtype = tuple(spec["shape"]), np.dtype(spec["dtype"])
        if "offset" in spec:
            size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            start = spec["offset"]
            return self._arena[start : start + size].view(dtype).reshape(shape)
        array = aligned_empty(shape, dtype)
        array[...] = 0
        return array

    def _make_kernel_calls(self) -> list[KernelCall]:
        calls: list[KernelCall] = []
        for launch in self.lib.plan["launches"]:
            args = tuple(self._pointers[i] for i in launch["args"])
            prototype = ctypes.CFUNCTYPE(None, *([ctypes.c_void_p] * len(args)))
            calls.append((prototype(self.lib.get_function(launch["kernel"])), args))
        return calls

    @property
    def uses_entry(self) -> bool:
        return self._entry is not None

    @property
    def input_names(self) -> list[str]:
        return self.lib.input_names

    @property
    def output_names(self) -> list[str]:
        return self.lib.output_names

    def get_num_inputs(self) -> int:
        return len(self._inputs)

    def get_num_outputs(self) -> int:
        return len(self._outputs)

    def _position(self, key: NameOrIndex, role: str, positions: Mapping[str, int]) -> int:
        if isinstance(key, int | np.integer):
            if not 0 <= key < len(positions):
                raise RuntimeInputError(
                    f"{role} index {key} is out of range: the model has {len(positions)} {role}s"
                )
            return int(key)
        if key not in positions:
            names = ", ".join(repr(name) for name in positions)
            raise RuntimeInputError(f"the model has no {role} {key!r}; its {role}s are {names}")
        return positions[key]

    def set_input(
        self, key: NameOrIndex | None = None, value: np.ndarray | None = None, **inputs: np.ndarray
    ) -> None:
        """Copies inputs in, by name or position: set_input("data", x), set_input(0, x) or
        set_input(data=x). Float inputs convert to the model's float dtype; any other dtype
        or shape mismatch is a RuntimeInputError. All are checked before any is copied."""
        named: list[tuple[NameOrIndex, np.ndarray]] = list(inputs.items())
        if key is not None:
            if value is None:
                raise RuntimeInputError(f"set_input({key!r}) needs a value")
            named.insert(0, (key, value))
        elif value is not None:
            raise RuntimeInputError("set_input got a value but no input name or index")
        self._copy_inputs(named)

    def _copy_inputs(self, named: Sequence[tuple[NameOrIndex, np.ndarray]]) -> None:
        """Copies each array into its input buffer once all of them are checked."""
        checked = [self._checked_input(name, array) for name, array in named]
        for target, array in checked:
            np.copyto(target, array, casting="same_kind")

    def _checked_input(self, key: NameOrIndex, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The input buffer for `key` and `value` as an array that fits it."""
        position = self._position(key, "input", self._input_position)
        target = self._buffers[self._inputs[position]]
        label = self.input_names[position]
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
        return target, array

    def run(self, **inputs: np.ndarray) -> None:
        """Sets the given inputs by name, then runs the model once."""
        if inputs:
            self._copy_inputs(list(inputs.items()))
        if self._entry is not None:
            function, table = self._entry
            function(table)
            return
        assert self._kernel_calls is not None
        for function, args in self._kernel_calls:
            function(*args)

    def get_input(self, key: NameOrIndex) -> np.ndarray:
        """A copy of the input buffer, by name or position."""
        return self._buffers[
            self._inputs[self._position(key, "input", self._input_position)]
        ].copy()

    def get_output(self, key: NameOrIndex, out: np.ndarray | None = None) -> np.ndarray:
        """A copy of output `key` (position or name), or the output copied into `out`."""
        buffer = self._buffers[self._outputs[self._position(key, "output", self._output_position)]]
        if out is None:
            return buffer.copy()
        if out.shape != buffer.shape or out.dtype != buffer.dtype:
            raise RuntimeInputError(
                f"out is {out.dtype}{list(out.shape)} but output {key!r} is "
                f"{buffer.dtype}{list(buffer.shape)}"
            )
        np.copyto(out, buffer)
        return out

    def benchmark(
        self,
        repeat: int = 100,
        number: int = 1,
        min_repeat_ms: float = 0.0,
        warmup: int = 5,
        **inputs: np.ndarray,
    ) -> BenchmarkResult:
        """Latency of `run()` like TVM's time_evaluator: mean, median, std over `repeat`."""
        if inputs:
            self._copy_inputs(list(inputs.items()))
        return measure(
            self.run, repeat=repeat, number=number, min_repeat_ms=min_repeat_ms, warmup=warmup
        )

    def profile(self, repeat: int = 10, warmup: int = 1, **inputs: np.ndarray) -> ProfileReport:
        """Times every kernel launch on its own (per-kernel dispatch, whatever `run` uses),
        like TVM's debug executor; `print()` the report for the table. The output shape shown
        is the launch's last argument, the buffer a kernel writes."""
        if inputs:
            self._copy_inputs(list(inputs.items()))
        if self._kernel_calls is None:
            self._kernel_calls = self._make_kernel_calls()
        buffers = self.lib.plan["buffers"]
        launches = [
            TimedLaunch(
                launch["kernel"],
                functools.partial(function, *args),
                tuple(buffers[launch["args"][-1]]["shape"]) if launch["args"] else (),
                launch.get("flops", 0),
            )
            for launch, (function, args) in zip(
                self.lib.plan["launches"], self._kernel_calls, strict=True
            )
        ]
        return profile_launches(launches, repeat=repeat, warmup=warmup)

    def memory_report(self) -> MemoryReport:
        """The memory plan's bytes for intermediates against one allocation per buffer."""
        return self.lib.memory_report()

    def buffer_addresses(self) -> list[int]:
        """Data address of every buffer, in plan order, to check that runs reuse them."""
        return [buffer.ctypes.data for buffer in self._buffers]
