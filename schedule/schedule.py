"""Schedule primitives over one sched kernel, TVM style, recording a replayable trace.

    s = Schedule(kernel)                    # names the loops: i0, i1, ... and r0, r1, ...
    io, ii = s.split("i0", 6)
    jo, ji = s.split("i1", 64)
    s.reorder(io, jo, ii, ji)
    init, main, store = s.cache_write(ii, ji)
    s.reorder("r0", ii, ji)
    s.unroll(ii); s.vectorize(ji); s.parallel(io)
    print(s)                                # the loop nest, compactly
    print(s.trace)                          # the steps, replayable with Trace.replay

Loops are referred to by name: primitives return the names of the loops they make.
Each primitive checks that it is legal and raises `ScheduleError` naming the loop if not.
"""

import ast
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, StringAttr, UnitAttr

from ziggurat.dialects import sched
from ziggurat.schedule import loop_transforms as lt
from ziggurat.schedule.cache_write import cache_write
from ziggurat.schedule.loop_printer import format_kernel
from ziggurat.schedule.pack import pack_weight, rebind_calls, retype_argument
from ziggurat.schedule.space import Config

PRIMITIVES = frozenset(
    {
        "split",
        "reorder",
        "tile",
        "fuse",
        "vectorize",
        "parallel",
        "serial",
        "unroll",
        "cache_write",
        "compute_at",
        "pack",
    }
)
"""The methods of `Schedule` a trace may call."""

SERIAL_ATTR = "sched.serial"
"""Loop attribute: the schedule keeps this nest on one core (sched-parallelize leaves it)."""

TRACE_ATTR = "sched.trace"
"""Kernel attribute: the schedule's trace, its steps separated by `; ` (as `parse_trace` reads it)."""


@dataclass(frozen=True)
class Step:
    primitive: str
    args: tuple[object, ...]

    def __str__(self) -> str:
        return f"{self.primitive}({', '.join(repr(a) for a in self.args)})"


@dataclass
class Trace:
    """The primitives applied to a kernel, in order."""

    steps: list[Step] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(str(step) for step in self.steps)

    def replay(
        self, kernel: func.FuncOp, params: dict[str, np.ndarray] | None = None
    ) -> "Schedule":
        """Applies the same steps to a kernel (e.g. a fresh copy of the one traced)."""
        schedule = Schedule(kernel, params)
        for step in self.steps:
            if step.primitive not in PRIMITIVES:
                raise lt.ScheduleError(f"unknown schedule primitive '{step.primitive}'.")
            try:
                getattr(schedule, step.primitive)(*step.args)
            except TypeError as err:
                raise lt.ScheduleError(f"schedule step {step}: {err}.") from err
        return schedule


def parse_trace(text: str) -> Trace:
    """Reads `split('i0', 4); vectorize('i0.i')` (steps separated by `;` or new lines) into a
    Trace; refuses anything but calls of primitives with literal arguments."""
    steps: list[Step] = []
    for part in (p.strip() for p in text.replace("\n", ";").split(";")):
        if not part:
            continue
        try:
            call = ast.parse(part, mode="eval").body
        except SyntaxError as err:
            raise lt.ScheduleError(f"cannot read schedule step '{part}': {err.msg}.") from err
        if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name) or call.keywords:
            raise lt.ScheduleError(f"schedule step '{part}' is not a primitive call.")
        if call.func.id not in PRIMITIVES:
            raise lt.ScheduleError(
                f"unknown schedule primitive '{call.func.id}'; "
                f"primitives are {', '.join(sorted(PRIMITIVES))}."
            )
        try:
            args = tuple(ast.literal_eval(arg) for arg in call.args)
        except ValueError as err:
            raise lt.ScheduleError(f"schedule step '{part}' has a non-literal argument.") from err
        steps.append(Step(call.func.id, args))
    return Trace(steps)


class Schedule:
    """Primitives that transform the loop nests of `kernel` in place."""

    def __init__(self, kernel: func.FuncOp, params: dict[str, np.ndarray] | None = None):
        self.kernel = kernel
        self.params = params if params is not None else {}
        self.trace = Trace()
        self.pending_packs: list[tuple[int, tuple[int, ...], tuple[int, int] | None]] = []
        self.config: Config | None = None
        """The knob values a template chose (a point of its config space), if it has knobs."""
        lt.name_loops(kernel)

    def __str__(self) -> str:
        return format_kernel(self.kernel)

    def loop(self, name: str) -> sched.ForOp:
        return lt.find_loop(self.kernel, name)

    def loop_names(self) -> list[str]:
        return [lt.loop_name(loop) for loop in lt.all_loops(self.kernel)]

    def _record(self, primitive: str, *args: object) -> None:
        self.trace.steps.append(Step(primitive, args))
        self.kernel.attributes[TRACE_ATTR] = StringAttr("; ".join(str(s) for s in self.trace.steps))

    def split(self, loop: str, factor: int) -> tuple[str, str]:
        """for i in 0..12  =>  for i.o in 0..12 step 4: for i.i in 0..4: (i = i.o + i.i).
        A remainder runs in a copy of the nest named `*.tail` (a reduction: a tail loop)."""
        outer, inner = lt.split(self.loop(loop), factor)
        self._record("split", loop, factor)
        return lt.loop_name(outer), lt.loop_name(inner)

    def reorder(self, *loops: str) -> None:
        """for i: for j: S  =>  reorder(j, i)  =>  for j: for i: S  (perfect nests; pure ops
        between the loops sink into the body)."""
        lt.reorder([self.loop(name) for name in loops])
        self._record("reorder", *loops)

    def tile(self, x: str, y: str, x_factor: int, y_factor: int) -> tuple[str, str, str, str]:
        """for x: for y  =>  for x.o: for y.o: for x.i: for y.i (split both, reorder)."""
        xo, xi = self.split(x, x_factor)
        yo, yi = self.split(y, y_factor)
        self.reorder(xo, yo, xi, yi)
        return xo, yo, xi, yi

    def fuse(self, outer: str, inner: str) -> str:
        """for i in 0..4: for j in 0..8  =>  for i.j in 0..32: (i = i.j / 8, j = i.j % 8)."""
        fused = lt.fuse(self.loop(outer), self.loop(inner))
        self._record("fuse", outer, inner)
        return lt.loop_name(fused)

    def _set_kind(self, loop: str, kind: str) -> None:
        target = self.loop(loop)
        if kind in ("parallel", "vectorize") and lt.is_reduce(target):
            raise lt.ScheduleError(
                f"cannot mark reduction loop '{loop}' {kind}: its iterations share an accumulator."
            )
        if kind == "vectorize" and any(
            isinstance(op, sched.ForOp) and op.kind.data != "unroll"
            for op in target.walk()
            if op is not target
        ):
            raise lt.ScheduleError(
                f"cannot vectorize loop '{loop}': it holds loops other than unrolled ones."
            )
        target.kind = StringAttr(kind)
        self._record(kind, loop)

    def vectorize(self, loop: str) -> None:
        """for j in 0..16: S(j)  =>  S on vector<16x..> (sched-lower-vectorize). Loops inside
        must be `unroll` ones: sched-lower-unroll runs first."""
        self._set_kind(loop, "vectorize")

    def parallel(self, loop: str) -> None:
        """for i in 0..N: S(i)  =>  iterations shared among the cores (libgomp)."""
        self._set_kind(loop, "parallel")

    def serial(self, loop: str) -> None:
        """Keeps the nest under `loop` on one core: sched-parallelize marks none of its loops
        (a nest too small to repay a fork-join)."""
        self.loop(loop).attributes[SERIAL_ATTR] = UnitAttr()
        self._record("serial", loop)

    def unroll(self, loop: str) -> None:
        """for i in 0..3: S(i)  =>  S(0); S(1); S(2) (sched-lower-unroll)."""
        self._set_kind(loop, "unroll")

    def cache_write(self, *loops: str) -> list[list[str]]:
        """Accumulators of the reduction under `loops` become a local tile over them, and
        the loops are distributed around init, reduction and store (see cache_write.py).
        Returns the loop names of each new nest; the reduction's nest keeps `loops`."""
        nests = cache_write(self.kernel, [self.loop(name) for name in loops])
        self._record("cache_write", *loops)
        return nests

    def compute_at(self, producer: str, consumer: str) -> None:
        """for i: P(i) ; for i: C(i)  =>  for i: P(i); C(i): the producer's nest joins the
        consumer's loop of the same extent, when C(i) reads only what P(i) wrote."""
        lt.compute_at(self.loop(producer), self.loop(consumer))
        self._record("compute_at", producer, consumer)

    def pack(
        self, argument: int, permutation: Sequence[int], split: tuple[int, int] | None = None
    ) -> None:
        """w[f, c] read with f vectorized  =>  pack(w, (1, 0))  =>  w'[c, f] read contiguously;
        b[k, n] in 32-column tiles  =>  pack(b, (1, 0, 2), (1, 32))  =>  b'[n / 32, k, n % 32].
        The constant weight in argument `argument` is rearranged at build time. On a kernel
        outside a module only the kernel changes; `bind_packs` updates the calls."""
        order = tuple(permutation)
        cut: tuple[int, int] | None = None
        if split is not None:
            dim, factor = split
            cut = (dim, factor)
        if isinstance(self.kernel.parent_op(), ModuleOp):
            pack_weight(self.kernel, argument, order, self.params, cut)
        else:
            retype_argument(self.kernel, argument, order, cut)
            self.pending_packs.append((argument, order, cut))
        if cut is None:
            self._record("pack", argument, order)
        else:
            self._record("pack", argument, order, cut)

    def bind_packs(self, module: ModuleOp) -> None:
        """Packs the weights at the calls of a kernel packed while outside `module`."""
        for argument, order, cut in self.pending_packs:
            rebind_calls(self.kernel.sym_name.data, module, argument, order, self.params, cut)
        self.pending_packs.clear()

    def reduction_loops_under(self, loop: str) -> list[str]:
        """The perfectly nested reduction loops inside `loop`'s body, outermost first."""
        names: list[str] = []
        current = [op for op in lt.body_ops(self.loop(loop)) if isinstance(op, sched.ForOp)]
        while len(current) == 1 and lt.is_reduce(current[0]):
            names.append(lt.loop_name(current[0]))
            current = [op for op in lt.body_ops(current[0]) if isinstance(op, sched.ForOp)]
        return names
