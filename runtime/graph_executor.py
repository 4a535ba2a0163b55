"""GraphModule: runs a compiled model on numpy arrays, like TVM's graph executor.

Every buffer is allocated once, 64-byte aligned (the kernels assume it), and reused across
runs; ctypes call objects and their pointer arguments are built once, so a run is one native
call (the entry) or one call per kernel, with no allocation.
"""

import ctypes
from collections.abc import Mapping

import numpy as np

from ziggurat.runtime.benchmark import BenchmarkResult, measure
from ziggurat.runtime.module import Module

ALIGNMENT = 64


class RuntimeInputError(ValueError):
    """A wrong input name, shape or dtype."""


def aligned_empty(shape: tuple[int, ...], dtype: np.dtype, align: int = ALIGNMENT) -> np.ndarray:
    """An uninitialized C-contiguous array whose data starts on an `align`-byte boundary."""
    dtype = np.dtype(dtype)
    count = int(np.prod(shape, dtype=np.int64))
    raw = np.empty(count * dtype.itemsize + align, dtype=np.uint8)
    offset = (-raw.ctypes.data) % align
    return raw[offset : offset + count * dtype.itemsize].view(dtype).reshape(shape)


class GraphModule:
    """Runs `lib`'s plan. `use_entry=False` forces one call per kernel (for profiling)."""

    def __init__(self, lib: Module, use_entry: bool | None = None):
        self.lib = lib
        plan = lib.plan
        self._buffers: list[np.ndarray] = []
        for spec in plan["buffers"]:
            array = aligned_empty(tuple(spec["shape"]), np.dtype(spec["dtype"]))
            if spec["kind"] == "param":
                array[...] = lib.params[spec["name"]]
            else:
                array[...] = 0
            self._buffers.append(array)
        self._inputs = list(plan["inputs"])
        self._outputs = list(plan["outputs"])
        self._input_index = {plan["buffers"][i]["name"]: n for n, i in enumerate(self._inputs)}
        pointers = [ctypes.c_void_p(b.ctypes.data) for b in self._buffers]
        self._launches = []
        for launch in plan["launches"]:
            args = [pointers[i] for i in launch["args"]]
            prototype = ctypes.CFUNCTYPE(None, *([ctypes.c_void_p] * len(args)))
            self._launches.append((prototype(lib.get_function(launch["kernel"])), tuple(args)))
        self._entry = None
        if plan.get("entry") and use_entry is not False:
            self._table = (ctypes.c_void_p * len(pointers))(*pointers)
            entry = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(lib.get_function(plan["entry"]))
            self._entry = (entry, ctypes.addressof(self._table))

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

    def _input_position(self, key: str | int) -> int:
        if isinstance(key, int):
            if not 0 <= key < len(self._inputs):
                raise RuntimeInputError(
                    f"input index {key} is out of range: the model has {len(self._inputs)} inputs"
                )
            return key
        if key not in self._input_index:
            names = ", ".join(repr(n) for n in self.input_names)
            raise RuntimeInputError(f"the model has no input {key!r}; its inputs are {names}")
        return self._input_index[key]

    def set_input(
        self, key: str | int | None = None, value: np.ndarray | None = None, **inputs: np.ndarray
    ) -> None:
        """Copies inputs in by name or position: set_input("data", x) or set_input(data=x)."""
        if key is not None:
            if value is None:
                raise RuntimeInputError(f"set_input({key!r}) needs a value")
            inputs = {**inputs, key: value}  # type: ignore[dict-item]
        for name, array in inputs.items():
            position = self._input_position(name)
            target = self._buffers[self._inputs[position]]
            label = self.input_names[position]
            array = np.asarray(array)
            if array.shape != target.shape:
                raise RuntimeInputError(
                    f"input {label!r} has shape {list(array.shape)}, expected {list(target.shape)}"
                )
            if array.dtype != target.dtype:
                same_kind = array.dtype.kind == target.dtype.kind
                if not (same_kind and np.can_cast(array.dtype, target.dtype, "same_kind")):
                    raise RuntimeInputError(
                        f"input {label!r} has dtype {array.dtype}, expected {target.dtype}"
                    )
            np.copyto(target, array, casting="same_kind")

    def run(self, **inputs: np.ndarray) -> None:
        if inputs:
            self.set_input(**inputs)
        if self._entry is not None:
            function, table = self._entry
            function(table)
            return
        for function, args in self._launches:
            function(*args)

    def get_input(self, key: str | int) -> np.ndarray:
        return self._buffers[self._inputs[self._input_position(key)]].copy()

    def get_output(self, index: int) -> np.ndarray:
        if not 0 <= index < len(self._outputs):
            raise RuntimeInputError(
                f"output index {index} is out of range: the model has {len(self._outputs)} outputs"
            )
        return self._buffers[self._outputs[index]].copy()

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
            self.set_input(**inputs)
        return measure(
            self.run, repeat=repeat, number=number, min_repeat_ms=min_repeat_ms, warmup=warmup
        )

    def buffer_addresses(self) -> Mapping[str, int]:
        """Data address of every buffer by name, to check that runs reuse them."""
        return {
            spec["name"]: b.ctypes.data
            for spec, b in zip(self.lib.plan["buffers"], self._buffers, strict=True)
        }
