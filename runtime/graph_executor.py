"""GraphModule: runs a compiled model on numpy arrays, like TVM's graph executor.

Its state (inputs set, outputs of the last run) is per thread: each thread that uses a
GraphModule gets an execution context of its own (runtime/execution.py), made on first use,
so threads that each `set_input`, `run` and `get_output` never see each other's data. A
thread's context is made when it first touches the module, and `run` there refuses inputs
that thread never set, rather than run on zeros: what one thread sets, another cannot run.
For a call with no state at all, use `lib.run(feeds)`.

A `lib` compiled per input shapes (runtime/dispatch.py) has no buffers until a run's inputs
choose its variant: `set_input` keeps copies of the arrays, `run` needs every input set on
its thread, and the outputs, profile and memory report are those of the variant that thread
ran last. Each thread keeps the contexts of the few variants it ran most recently.
"""

import functools
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence

import numpy as np

from ziggurat.runtime.benchmark import BenchmarkResult, measure
from ziggurat.runtime.dispatch import VariantDispatch
from ziggurat.runtime.errors import RuntimeInputError
from ziggurat.runtime.execution import ExecutionContext
from ziggurat.runtime.memory import MemoryReport, aligned_empty
from ziggurat.runtime.module import Module, endpoint_position
from ziggurat.runtime.profiler import ProfileReport, TimedLaunch, profile_launches

__all__ = ["GraphModule", "RuntimeInputError", "aligned_empty"]

NameOrIndex = str | int | np.integer

VARIANT_CONTEXTS_PER_THREAD = 4
"""Execution contexts a thread keeps for the variants it ran most recently."""


class GraphModule:
    """Runs `lib`'s plan. The entry runs the whole model in one native call when the plan has
    one; `use_entry=False` calls each kernel in turn instead (to profile or bisect), and
    `use_entry=True` insists on the entry.

    Params are shared, read-only, with every GraphModule of the same `lib`; all other buffers
    belong to one thread's context of this GraphModule. The thread that makes it may run
    before setting every input (on zeros); other threads must set theirs.
    """

    def __init__(self, lib: Module | VariantDispatch, use_entry: bool | None = None):
        self.lib = lib
        self._use_entry = use_entry
        self._local = threading.local()
        self._dispatch = lib if isinstance(lib, VariantDispatch) else None
        if isinstance(lib, Module):
            self._local.context = ExecutionContext(lib, use_entry)
        self._local.owner = True
        self._input_position = {name: n for n, name in enumerate(lib.input_names)}
        self._output_position = {name: n for n, name in enumerate(lib.output_names)}

    @property
    def _context(self) -> ExecutionContext:
        """The calling thread's context, made on its first use (for a model compiled per
        input shapes: the context of the variant this thread ran last)."""
        context = getattr(self._local, "context", None)
        if context is None and self._dispatch is not None:
            raise RuntimeInputError(
                "this model is compiled per input shapes: its buffers exist once a run on "
                "this thread has chosen its variant"
            )
        if context is None:
            assert isinstance(self.lib, Module)
            context = ExecutionContext(self.lib, self._use_entry)
            self._local.context = context
            self._local.owner = False
        return context

    @property
    def uses_entry(self) -> bool:
        return self._context.uses_entry

    @property
    def input_names(self) -> list[str]:
        return self.lib.input_names

    @property
    def output_names(self) -> list[str]:
        return self.lib.output_names

    def get_num_inputs(self) -> int:
        return len(self._input_position)

    def get_num_outputs(self) -> int:
        return len(self._output_position)

    def _position(self, key: NameOrIndex, role: str, positions: Mapping[str, int]) -> int:
        return endpoint_position(key, role, list(positions))

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
        if self._dispatch is not None:
            positions = [self._position(key, "input", self._input_position) for key, _ in named]
            feeds = self._feeds()
            for position, (_, value) in zip(positions, named, strict=True):
                feeds[self.input_names[position]] = np.array(value, copy=True)
            self._local.loaded = None
            return
        context = self._context
        checked = []
        for key, value in named:
            position = self._position(key, "input", self._input_position)
            checked.append((position, context.checked_input(position, value)))
        context.copy_inputs(checked)

    def _feeds(self) -> dict[str, np.ndarray]:
        """The inputs this thread set, for a model compiled per input shapes."""
        feeds = getattr(self._local, "feeds", None)
        if feeds is None:
            feeds = self._local.feeds = {}
        return feeds

    def _run_variant(self, dispatch: VariantDispatch) -> None:
        """Runs this thread's inputs on the variant they select, in the thread's context for
        that variant (kept for the last few variants). Inputs unchanged since the last run
        (they are private copies) run again on the context already holding them."""
        loaded = getattr(self._local, "loaded", None)
        if loaded is not None:
            loaded.launch()
            return
        feeds = self._feeds()
        unset = [name for name in self.input_names if name not in feeds]
        if unset:
            raise RuntimeInputError(
                f"input {', '.join(map(repr, unset))} was not set on this thread: the model "
                "is compiled per input shapes, so every input must be given before a run"
            )
        variant, variant_feeds = dispatch.select_variant(feeds)
        contexts = getattr(self._local, "variant_contexts", None)
        if contexts is None:
            contexts = self._local.variant_contexts = OrderedDict()
        held = contexts.get(id(variant))
        if held is None:
            held = contexts[id(variant)] = (variant, ExecutionContext(variant, self._use_entry))
            if len(contexts) > VARIANT_CONTEXTS_PER_THREAD:
                contexts.popitem(last=False)
        contexts.move_to_end(id(variant))
        context = held[1]
        context.copy_inputs(
            [
                (position, context.checked_input(position, variant_feeds[name]))
                for position, name in enumerate(variant.input_names)
            ]
        )
        self._local.context = context
        self._local.loaded = context
        context.launch()

    def run(self, **inputs: np.ndarray) -> None:
        """Sets the given inputs by name, then runs the model once."""
        if inputs:
            self._copy_inputs(list(inputs.items()))
        if self._dispatch is not None:
            self._run_variant(self._dispatch)
            return
        context = self._context
        if context.unset_inputs and not self._local.owner:
            names = ", ".join(repr(self.input_names[n]) for n in sorted(context.unset_inputs))
            raise RuntimeInputError(
                f"input {names} was not set on this thread: a GraphModule keeps each thread's "
                "inputs apart, so set them on the thread that runs (or call lib.run(feeds))"
            )
        context.launch()

    def get_input(self, key: NameOrIndex) -> np.ndarray:
        """A copy of the input buffer, by name or position."""
        if self._dispatch is not None:
            name = self.input_names[self._position(key, "input", self._input_position)]
            if name not in self._feeds():
                raise RuntimeInputError(f"input {name!r} was not set on this thread")
            return self._feeds()[name].copy()
        return self._context.inputs[self._position(key, "input", self._input_position)].copy()

    def get_output(self, key: NameOrIndex, out: np.ndarray | None = None) -> np.ndarray:
        """A copy of output `key` (position or name), or the output copied into `out`."""
        buffer = self._context.outputs[self._position(key, "output", self._output_position)]
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
        context = self._context
        kernel_calls = context.kernel_calls()
        buffers = context.lib.plan["buffers"]
        launches = [
            TimedLaunch(
                launch["kernel"],
                functools.partial(function, *args),
                tuple(buffers[launch["args"][-1]]["shape"]) if launch["args"] else (),
                launch.get("flops", 0),
            )
            for launch, (function, args) in zip(
                context.lib.plan["launches"], kernel_calls, strict=True
            )
        ]
        return profile_launches(launches, repeat=repeat, warmup=warmup)

    def memory_report(self) -> MemoryReport:
        """The memory plan's bytes for intermediates against one allocation per buffer."""
        return self._context.lib.memory_report()

    def buffer_addresses(self) -> list[int]:
        """Data address of every buffer, in plan order, to check that runs reuse them."""
        return [buffer.ctypes.data for buffer in self._context.buffers]
