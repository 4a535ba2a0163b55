"""A compiled model as the runtime sees it: an execution plan, its params and the machine
code's function addresses. Imports numpy and the standard library only.

Plan format (version 1), plain JSON data:

    {"version": 1,
     "buffers": [{"name": "input", "kind": "input", "shape": [1, 784], "dtype": "float32"},
                 {"name": "t0", "kind": "intermediate", ..., "offset": 0}, ...],
     "inputs": [0], "outputs": [3],            # buffer indices, in model order
     "checks": [5],                            # optional: buffers of kind "check"
     "rows": [6],                              # optional: buffers of kind "rows"
     "launches": [{"kernel": "matmul_0", "args": [0, 1, 2], "flops": 802816}, ...],
     "entry": "__ziggurat_main",               # or None
     "arena_bytes": 4096}                      # the memory plan's shared storage

A check buffer is a model output the caller never sees: a kernel writes nonzero into it when
the run went wrong in a way the model defines no value for (an integer division by zero);
its name, after runtime/execution.py's CHECK_PREFIX, says what, and the runtime raises that after the run.
A rows buffer (an int64 scalar, named ROWS_PREFIX + an output's name) holds how many leading
rows of that output a run produced (a Loop's scan output when the loop ended early): the
runtime returns only those. A plan with `"control_flow": true` runs only through its entry;
its `entry_uses` and `loops` complete the launches' liveness (runtime/memory.py).
`offset` and `arena_bytes` are the memory plan (see runtime/memory.py); intermediates without
an offset get their own allocation. `flops` (optional) is the launch's floating-point
operation count, for the profiler.

Kernel ABI: `void kernel(void *arg0, ...)`, one pointer per buffer argument (C-contiguous,
64-byte aligned). Entry ABI: `void entry(void **table)`, table[i] pointing at buffer i.
"""

import copy
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ziggurat.runtime.context_pool import ContextPool
from ziggurat.runtime.dtypes import NUMERIC_KINDS, dtype_named, numeric_kind
from ziggurat.runtime.errors import PlanError, RuntimeInputError
from ziggurat.runtime.execution import ROWS_PREFIX
from ziggurat.runtime.limits import check_plan_memory
from ziggurat.runtime.memory import MemoryReport, aligned_copy, memory_report, validate_storage
from ziggurat.runtime.package import write_package

PLAN_VERSION = 1
BUFFER_KINDS = ("input", "output", "param", "intermediate", "check", "rows")


class NativeCode(Protocol):
    """The machine code behind a Module, as `export_library` needs it."""

    @property
    def target(self) -> Mapping[str, Any]:
        """The target the code was built for, as a package records it."""
        ...

    def shared_object(self, cc: str | None = None) -> bytes:
        """The code as a shared object for `target`, linked with `cc` if it must be linked."""
        ...


def _is_index(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _validate_buffer(index: int, buffer: object) -> None:
    if not isinstance(buffer, Mapping):
        raise PlanError(f"buffer {index} is {buffer!r}, not a mapping")
    if not isinstance(buffer.get("name"), str):
        raise PlanError(f"buffer {index} has no name")
    label = f"buffer {index} ({buffer['name']!r})"
    if buffer.get("kind") not in BUFFER_KINDS:
        raise PlanError(
            f"{label} has kind {buffer.get('kind')!r}; kinds are {', '.join(BUFFER_KINDS)}"
        )
    shape = buffer.get("shape")
    if not isinstance(shape, list | tuple) or not all(_is_index(d) and d >= 0 for d in shape):
        raise PlanError(f"{label} has shape {shape!r}; expected a list of non-negative ints")
    dtype_name = buffer.get("dtype")
    try:
        dtype = dtype_named(dtype_name) if isinstance(dtype_name, str) else None
    except TypeError:
        dtype = None
    if dtype is None or numeric_kind(dtype) not in NUMERIC_KINDS:
        raise PlanError(f"{label} has dtype {dtype_name!r}; expected a numeric numpy dtype name")


def _validate_endpoints(plan: Mapping[str, Any], buffers: list[Mapping[str, Any]]) -> None:
    """Inputs and outputs list every input and output buffer exactly once, in model order."""
    for key, kind in (
        ("inputs", "input"),
        ("outputs", "output"),
        ("checks", "check"),
        ("rows", "rows"),
    ):
        indices = plan.get(key, [] if key in ("checks", "rows") else None)
        if not isinstance(indices, list | tuple):
            raise PlanError(f"plan has no {key} list")
        for index in indices:
            if not _is_index(index) or not 0 <= index < len(buffers):
                raise PlanError(f"plan {key} entry {index!r} is not a buffer index")
            if buffers[index]["kind"] != kind:
                raise PlanError(
                    f"plan {key} entry {index} is buffer {buffers[index]['name']!r} of kind "
                    f"{buffers[index]['kind']!r}, not {kind!r}"
                )
        if len(set(indices)) != len(indices):
            raise PlanError(f"plan {key} list a buffer twice: {list(indices)}")
        unlisted = [n for n, b in enumerate(buffers) if b["kind"] == kind and n not in indices]
        if unlisted:
            raise PlanError(f"{kind} buffers {unlisted} are missing from the plan's {key}")
        names = [buffers[n]["name"] for n in indices]
        if len(set(names)) != len(names):
            raise PlanError(f"plan {key} have duplicate names: {names}")
    outputs = {buffers[n]["name"] for n in plan["outputs"]}
    for index in plan.get("rows", []):
        counted = buffers[index]["name"].removeprefix(ROWS_PREFIX)
        if counted not in outputs:
            raise PlanError(f"rows buffer {index} counts {counted!r}, which is not an output")


def _validate_launches(plan: Mapping[str, Any], buffer_count: int) -> None:
    launches = plan.get("launches")
    if not isinstance(launches, list | tuple):
        raise PlanError("plan has no launches list")
    for position, launch in enumerate(launches):
        if not isinstance(launch, Mapping) or not isinstance(launch.get("kernel"), str):
            raise PlanError(f"launch {position} ({launch!r}) names no kernel")
        args = launch.get("args")
        if not isinstance(args, list | tuple):
            raise PlanError(f"launch {position} of {launch['kernel']!r} has no args list")
        for index in args:
            if not _is_index(index) or not 0 <= index < buffer_count:
                raise PlanError(
                    f"launch {position} of {launch['kernel']!r} uses unknown buffer {index!r}; "
                    f"the plan has {buffer_count} buffers"
                )
        flops = launch.get("flops", 0)
        if not _is_index(flops) or flops < 0:
            raise PlanError(
                f"launch {position} of {launch['kernel']!r} has flops {flops!r}; expected a "
                "non-negative int"
            )
    entry = plan.get("entry")
    if entry is not None and (not isinstance(entry, str) or not entry):
        raise PlanError(f"plan entry is {entry!r}; expected a function name or None")


def _validate_control(plan: Mapping[str, Any], buffer_count: int) -> None:
    """`entry_uses` ([position, buffer] pairs) and `loops` ([first, last] launch positions),
    the liveness facts of a plan with control flow, name real launches and buffers."""
    launches = len(plan["launches"])
    for key, what in (("entry_uses", "buffer"), ("loops", "last launch")):
        pairs = plan.get(key, [])
        if not isinstance(pairs, list | tuple):
            raise PlanError(f"plan {key} is {pairs!r}; expected a list of pairs")
        for pair in pairs:
            if (
                not isinstance(pair, list | tuple)
                or len(pair) != 2
                or not all(_is_index(v) for v in pair)
                or not 0 <= pair[0] < max(launches, 1)
                or not 0 <= pair[1] < (buffer_count if key == "entry_uses" else launches)
                or (key == "loops" and pair[1] < pair[0])
            ):
                raise PlanError(
                    f"plan {key} entry {pair!r} is not a [launch position, {what}] pair of "
                    f"this plan ({launches} launches, {buffer_count} buffers)"
                )


def _validate_params(buffers: list[Mapping[str, Any]], params: Mapping[str, np.ndarray]) -> None:
    """The plan's shape and dtype are authoritative: each param must match them exactly."""
    for buffer in buffers:
        if buffer["kind"] != "param":
            continue
        name = buffer["name"]
        if name not in params:
            raise PlanError(f"param {name!r} is missing from the params")
        value = np.asarray(params[name])
        expected_dtype, expected_shape = np.dtype(buffer["dtype"]), list(buffer["shape"])
        if list(value.shape) != expected_shape or value.dtype != expected_dtype:
            raise PlanError(
                f"param {name!r} is {value.dtype}{list(value.shape)} but the plan expects "
                f"{expected_dtype}{expected_shape}"
            )


def validate_plan(plan: Mapping[str, Any], params: Mapping[str, np.ndarray]) -> None:
    """Raises PlanError on the first thing in `plan` the runtime could not run safely."""
    if not isinstance(plan, Mapping):
        raise PlanError(f"the plan is a {type(plan).__name__}, not a mapping")
    if plan.get("version") != PLAN_VERSION:
        raise PlanError(f"plan version {plan.get('version')!r} is not {PLAN_VERSION}")
    buffers = plan.get("buffers")
    if not isinstance(buffers, list | tuple):
        raise PlanError("plan has no buffers list")
    for index, buffer in enumerate(buffers):
        _validate_buffer(index, buffer)
    _validate_endpoints(plan, list(buffers))
    _validate_launches(plan, len(buffers))
    _validate_control(plan, len(buffers))
    validate_storage(plan)
    _validate_params(list(buffers), params)


def endpoint_position(key: object, role: str, names: Sequence[str]) -> int:
    """The position of input or output (`role`) `key`, a name or a number, among `names`."""
    if isinstance(key, int | np.integer) and not isinstance(key, bool):
        if not 0 <= key < len(names):
            raise RuntimeInputError(
                f"{role} index {key} is out of range: the model has {len(names)} {role}s"
            )
        return int(key)
    if key not in names:
        listed = ", ".join(repr(name) for name in names)
        raise RuntimeInputError(f"the model has no {role} {key!r}; its {role}s are {listed}")
    return list(names).index(key)  # type: ignore[arg-type]


class Module:
    """What `ziggurat.build` returns and `GraphModule` runs (TVM's factory module).

    `symbols` maps a function name to its machine address; each name is looked up once, when
    first needed. `keepalive` (the JIT engine or the loaded library) is held so the machine
    code outlives every address handed out. `native` gives `export_library` the code itself;
    `build_timing` is the compiler's record of where the build spent its time (None when
    loaded from a file).
    """

    def __init__(
        self,
        plan: Mapping[str, Any],
        params: Mapping[str, np.ndarray],
        symbols: Callable[[str], int],
        keepalive: object = None,
        target: str = "",
        native: NativeCode | None = None,
        build_timing: object = None,
    ):
        validate_plan(plan, params)
        check_plan_memory(plan)
        self.plan: dict[str, Any] = copy.deepcopy(dict(plan))
        self.params = dict(params)
        self.keepalive = keepalive
        self.target = target
        self.native = native
        self.build_timing = build_timing
        self._symbols = symbols
        self._addresses: dict[str, int] = {}
        self._bound_params: dict[str, np.ndarray] | None = None
        self._lock = threading.Lock()
        buffers = self.plan["buffers"]
        self._input_names = tuple(buffers[i]["name"] for i in self.plan["inputs"])
        self._output_names = tuple(buffers[i]["name"] for i in self.plan["outputs"])
        self._pool = ContextPool(self)

    def get_function(self, name: str) -> int:
        """The machine address of a compiled function, looked up once."""
        if name not in self._addresses:
            address = self._symbols(name)
            if not address:
                raise PlanError(f"the compiled code has no function {name!r}")
            self._addresses[name] = address
        return self._addresses[name]

    def bound_params(self) -> dict[str, np.ndarray]:
        """Aligned, contiguous, read-only copies of the plan's params, made once and shared by
        every GraphModule of this module (kernels only read params)."""
        with self._lock:
            if self._bound_params is None:
                bound = {}
                for buffer in self.plan["buffers"]:
                    if buffer["kind"] == "param" and buffer["name"] not in bound:
                        array = aligned_copy(np.asarray(self.params[buffer["name"]]))
                        array.flags.writeable = False
                        bound[buffer["name"]] = array
                self._bound_params = bound
            return self._bound_params

    def run(
        self, feeds: Mapping[str, object], outputs: Sequence[str | int] | None = None
    ) -> list[np.ndarray]:
        """Runs the model on `feeds` (every input, by name) and returns new arrays: every
        output in model order, or those `outputs` names or numbers (onnxruntime's
        `sess.run(None, feeds)`). Many threads may call it at once: each call runs in an
        execution context of its own, borrowed from a pool (see runtime/threads.py for how
        concurrent calls share the cores)."""
        names = self._input_names
        if not isinstance(feeds, Mapping):
            raise RuntimeInputError(f"feeds must map input names to arrays, not {type(feeds)}")
        if len(feeds) != len(names) or not all(name in feeds for name in names):
            self._refuse_feeds(feeds)
        wanted = [self.output_position(key) for key in outputs] if outputs is not None else None
        context = self._pool.take()
        try:
            context.copy_inputs(
                [
                    (position, context.checked_input(position, feeds[name]))
                    for position, name in enumerate(names)
                ]
            )
            context.launch()
            results = context.outputs
            return [results[n].copy() for n in (range(len(results)) if wanted is None else wanted)]
        finally:
            self._pool.give(context)

    def _refuse_feeds(self, feeds: Mapping[str, object]) -> None:
        """Raises the RuntimeInputError that says how `feeds` misses the model's inputs."""
        names = self._input_names
        unknown = [name for name in feeds if name not in names]
        if unknown:
            raise RuntimeInputError(
                f"the model has no input {unknown[0]!r}; its inputs are "
                + ", ".join(repr(name) for name in names)
            )
        missing = [name for name in names if name not in feeds]
        raise RuntimeInputError(f"feeds lack input {', '.join(map(repr, missing))}")

    def output_position(self, key: str | int) -> int:
        """The position of output `key`, a name or a number."""
        return endpoint_position(key, "output", self._output_names)

    def export_library(self, path: str | Path, cc: str | None = None) -> Path:
        """Writes the model as one `.zgt` file (see runtime/package.py) that `load_module`
        runs without the compiler. `cc` is the linker command (default: $CC, then cc)."""
        if self.native is None:
            raise PlanError("this module has no machine code to export (it was made by hand)")
        shared_object = self.native.shared_object(cc)
        return write_package(path, self.plan, self.params, shared_object, self.native.target)

    def memory_report(self) -> MemoryReport:
        """Intermediate bytes the memory plan allocates against one allocation per buffer."""
        return memory_report(self.plan)

    @property
    def input_names(self) -> list[str]:
        return list(self._input_names)

    @property
    def output_names(self) -> list[str]:
        return list(self._output_names)

    @property
    def kernel_names(self) -> list[str]:
        return sorted({launch["kernel"] for launch in self.plan["launches"]})

    def __repr__(self) -> str:
        return (
            f"Module(inputs={self.input_names}, outputs={self.output_names}, "
            f"launches={len(self.plan['launches'])}, entry={self.plan.get('entry')!r}, "
            f"target={self.target!r})"
        )
