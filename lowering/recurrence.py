"""graph.recurrence as a loop nest: the serial time loop te cannot express.

te.compute and te.reduce say what each element is; a recurrence reads the state the previous
step wrote, so convert-te-to-sched builds this kernel's loops directly (the strategy keeps
the graph op in the te kernel). One kernel, whatever T is (time is a loop, not unrolled):

    for d in directions (parallel: a bidirectional op's directions on two cores):
      h, c <- initial_h, initial_c
      for s in 0..T-1 (serial):
        acc[b, :] = h[b] @ R^T for every b: register tiles of up to 4 batch rows by
                    packed blocks of 64 columns (up to 4 blocks for fewer rows), the
                    hidden units streamed, odd steps taking the blocks in reverse order;
                    the blocks run across the cores when one direction's step is big enough
        for b in 0..B-1:
          t = s, or T-1-s in reverse, or len[b]-1-s with sequence_lens; valid = s < len[b]
          gates from gates_in[t*B + b] + acc[b], clip, activations, peepholes (vectorized
          over the hidden units); h, c <- the new state where valid; Y[t] <- h, or 0
      Y_h, Y_c <- h, c

The loops carry their own kinds (vectorize, unroll, parallel or sched.serial), so the
default templates and sched-parallelize leave the kernel as built; sched-expand-math and
sched-lower-vectorize then make exp and tanh polynomial vector code. GRU without
`linear_before_reset` multiplies r * h before its candidate's product: the step then runs
the product over the z and r columns, computes r * h, then the candidate's columns with it.
"""

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from xdsl.builder import Builder, ImplicitBuilder
from xdsl.dialects import arith, math
from xdsl.dialects.builtin import (
    FloatAttr,
    IndexType,
    IntegerAttr,
    MemRefType,
    UnitAttr,
    f32,
    i32,
)
from xdsl.ir import Block, Operation, SSAValue
from xdsl.rewriter import InsertPoint

from ziggurat.dialects import graph, sched
from ziggurat.dialects.target import CpuTargetAttr
from ziggurat.schedule.schedule import SERIAL_ATTR
from ziggurat.schedule.templates import register_count

ROW_BLOCK = 4
"""Most batch rows of a register tile of the step's product: each row of R loaded feeds them
all (4 rows of a 64-column block are 16 zmm accumulators)."""


def row_block(cpu: CpuTargetAttr | None, columns: int) -> int:
    """Batch rows whose accumulators for `columns` fit the target's vector registers beside
    the broadcast and the loads: 4 with AVX-512's 32 zmm, 1 with AVX2's 16 ymm for 64
    columns; ROW_BLOCK without a target."""
    if cpu is None:
        return ROW_BLOCK
    vectors = max(1, columns // cpu.vector_lanes(32))
    return max(1, min(ROW_BLOCK, (register_count(cpu) - 4) // vectors))


EPILOGUE_BLOCK = 16
"""Lanes of the gate loops (one zmm): their polynomials need many registers per vector."""

PARALLEL_MIN_WORK = 1 << 14
"""Multiply-adds of a whole run below which the two directions stay on one core."""

STEP_SPLIT_MIN_WORK = 1 << 16
"""Multiply-adds of one step's product below which a unidirectional step stays on one core."""


def _splat(value: SSAValue) -> float | None:
    """The value every element of a graph.constant holds, when they are all equal."""
    owner = value.owner
    if isinstance(owner, graph.ConstantOp) and owner.value.is_splat():
        return float(owner.value.get_values()[0])
    return None


@contextmanager
def _loop(extent: int, kind: str = "serial") -> Iterator[SSAValue]:
    """A sched.for over 0..extent at the current insertion point; yields its index."""
    loop = sched.ForOp(0, extent, 1, Block(arg_types=[IndexType()]), kind)
    yield_op = loop.body.block.last_op
    assert yield_op is not None
    with ImplicitBuilder(Builder(InsertPoint.before(yield_op))):
        yield loop.induction_var


def _blocks(extent: int, widest: int) -> list[tuple[int, int, int]]:
    """(start, count, width): `count` blocks of `width` columns from `start`, covering extent."""
    if extent <= widest:
        return [(0, 1, extent)]
    full = extent // widest * widest
    rest = [(full, 1, extent - full)] if extent > full else []
    return [(0, extent // widest, widest), *rest]


def _index(value: int) -> SSAValue:
    return arith.ConstantOp(IntegerAttr(value, IndexType())).result


def _float(value: float) -> SSAValue:
    return arith.ConstantOp(FloatAttr(value, f32)).result


def _add(*values: SSAValue) -> SSAValue:
    total = values[0]
    for v in values[1:]:
        total = (
            arith.AddiOp(total, v).result
            if isinstance(v.type, IndexType)
            else arith.AddfOp(total, v).result
        )
    return total


def _mul(a: SSAValue, b: SSAValue) -> SSAValue:
    return arith.MulfOp(a, b).result


def _sub(a: SSAValue, b: SSAValue) -> SSAValue:
    return arith.SubfOp(a, b).result


def _select_ge(
    x: SSAValue, threshold: SSAValue, strict: bool, then: SSAValue, other: SSAValue
) -> SSAValue:
    condition = arith.CmpfOp(x, threshold, "ogt" if strict else "oge").result
    return arith.SelectOp(condition, then, other).result


def _sigmoid(x: SSAValue) -> SSAValue:
    one = _float(1.0)
    return arith.DivfOp(one, _add(one, math.ExpOp(arith.NegfOp(x).result).result)).result


def activation(name: str, alpha: float, beta: float) -> Callable[[SSAValue], SSAValue]:
    """The ONNX activation `name` as arith/math ops on one f32 value."""

    def apply(x: SSAValue) -> SSAValue:
        zero, one = _float(0.0), _float(1.0)
        a, b = _float(alpha), _float(beta)
        if name == "Sigmoid":
            return _sigmoid(x)
        if name == "Tanh":
            return math.TanhOp(x).result
        if name == "Relu":
            return arith.MaximumfOp(x, zero).result
        if name == "Affine":
            return _add(_mul(a, x), b)
        if name == "LeakyRelu":
            return _select_ge(x, zero, False, x, _mul(a, x))
        if name == "ThresholdedRelu":
            return _select_ge(x, a, True, x, zero)
        if name == "ScaledTanh":
            return _mul(a, math.TanhOp(_mul(b, x)).result)
        if name == "HardSigmoid":
            return arith.MaximumfOp(arith.MinimumfOp(_add(_mul(a, x), b), one).result, zero).result
        if name == "Elu":
            return _select_ge(x, zero, False, x, _mul(a, _sub(math.ExpOp(x).result, one)))
        if name == "Softsign":
            return arith.DivfOp(x, _add(one, math.AbsFOp(x).result)).result
        assert name == "Softplus", name
        return math.LogOp(_add(one, math.ExpOp(x).result)).result

    return apply


class RecurrenceEmitter:
    """Builds one graph.recurrence's loops; `buffers` maps its operands to buffers."""

    def __init__(
        self,
        op: graph.RecurrenceOp,
        buffers: Sequence[SSAValue],
        out: SSAValue,
        alloc: Callable[[MemRefType], SSAValue],
        cpu: CpuTargetAttr | None = None,
    ):
        self.op = op
        self.rows = row_block(cpu, op.block)
        (self.gates, self.packed, self.rbias, self.peep, self.h0, self.c0, self.lens) = buffers
        self.out = out
        self.batch = graph.tensor_shape(op.initial_h)[1]
        self.steps = graph.tensor_shape(op.gates)[0] // max(self.batch, 1)
        self.dirs, self.size = op.directions, op.hidden
        self.cell = op.cell.data
        self.width = op.gate_count * self.size
        state = MemRefType(f32, [self.dirs, self.batch, self.size])
        self.h = alloc(state)
        self.c = alloc(state) if self.cell == "lstm" else None
        self.acc = alloc(MemRefType(f32, [self.dirs, self.batch, self.width]))
        self.gru_reset_first = self.cell == "gru" and op.linear_before_reset is None
        self.rh = alloc(state) if self.gru_reset_first else None
        self.initial_h_zero = _splat(op.initial_h) == 0.0
        self.initial_c_zero = _splat(op.initial_c) == 0.0
        self.no_peepholes = _splat(op.peepholes) == 0.0
        self.no_rbias = _splat(op.recurrent_bias) == 0.0
        self.full_lengths = _splat(op.sequence_lens) == float(self.steps)
        self.clip = None if op.clip is None else op.clip.value.data
        self.specs = op.activation_list()
        self.per_direction = len(self.specs) // self.dirs

    def build(self) -> sched.ForOp:
        work = self.steps * self.batch * self.size * self.width
        parallel = self.dirs == 2 and work >= PARALLEL_MIN_WORK
        top = sched.ForOp(
            0, self.dirs, 1, Block(arg_types=[IndexType()]), "parallel" if parallel else "serial"
        )
        if not parallel:
            top.attributes[SERIAL_ATTR] = UnitAttr()
        yield_op = top.body.block.last_op
        assert yield_op is not None
        with ImplicitBuilder(Builder(InsertPoint.before(yield_op))):
            d = top.induction_var
            self._initialize(d)
            self._time_loop(d)
            self._finish(d)
        return top

    def _initialize(self, d: SSAValue) -> None:
        for state, initial, zero in (
            (self.h, self.h0, self.initial_h_zero),
            (self.c, self.c0, self.initial_c_zero),
        ):
            if state is None:
                continue
            with _loop(self.batch) as b, _loop(self.size, "vectorize") as j:
                value = _float(0.0) if zero else sched.LoadOp(initial, [d, b, j]).result
                sched.StoreOp(value, state, [d, b, j])

    def _finish(self, d: SSAValue) -> None:
        """Y_h and Y_c: the states, zeros for an entry of length 0 (as onnxruntime gives)."""
        rows = ((self.steps, self.h), (self.steps + 1, self.c))
        for row, state in rows:
            with _loop(self.batch) as b:
                weight = None
                if not self.full_lengths and state is not None:
                    raw = sched.LoadOp(self.lens, [b]).result
                    empty = arith.CmpiOp(raw, arith.ConstantOp(IntegerAttr(0, i32)).result, "sle")
                    weight = arith.SelectOp(empty.result, _float(0.0), _float(1.0)).result
                with _loop(self.size, "vectorize") as j:
                    value = _float(0.0)
                    if state is not None:
                        value = sched.LoadOp(state, [d, b, j]).result
                    if weight is not None:
                        value = _mul(weight, value)
                    sched.StoreOp(value, self.out, [_index(row), d, b, j])

    def _direction_functions(self, d: SSAValue) -> list[Callable[[SSAValue], SSAValue]]:
        """The activations of direction `d`. When the two directions name different ones,
        both are computed and weighted by d (0 or 1), one kernel serving both cores."""
        n = self.per_direction
        first = [activation(*spec) for spec in self.specs[:n]]
        if self.dirs == 1 or self.specs[:n] == self.specs[n:]:
            return first
        second = [activation(*spec) for spec in self.specs[n:]]
        is_second = arith.CmpiOp(d, _index(0), "ne").result
        weight = arith.SelectOp(is_second, _float(1.0), _float(0.0)).result
        rest = _sub(_float(1.0), weight)

        def blend(
            f0: Callable[[SSAValue], SSAValue], f1: Callable[[SSAValue], SSAValue]
        ) -> Callable[[SSAValue], SSAValue]:
            return lambda x: _add(_mul(rest, f0(x)), _mul(weight, f1(x)))

        return [blend(f0, f1) for f0, f1 in zip(first, second, strict=True)]

    def _time_loop(self, d: SSAValue) -> None:
        direction = self.op.direction.data
        reverse: SSAValue | bool = direction == "reverse"
        if direction == "bidirectional":
            reverse = arith.CmpiOp(d, _index(0), "ne").result
        functions = self._direction_functions(d)
        gate_offset = arith.MuliOp(d, _index(self.width)).result
        with _loop(self.steps) as s:
            size = self.size
            if self.gru_reset_first:
                assert self.rh is not None
                self._product(d, self.h, s, 0, 2 * size)
                with _loop(self.batch) as b:
                    t, _ = self._time_index(s, b, reverse)
                    self._reset_times_state(d, b, t, gate_offset, functions[0])
                self._product(d, self.rh, s, 2 * size, 3 * size)
            else:
                self._product(d, self.h, s, 0, self.width)
            with _loop(self.batch) as b:
                t, weight = self._time_index(s, b, reverse)
                self._gates(d, b, t, weight, gate_offset, functions)

    def _time_index(
        self, s: SSAValue, b: SSAValue, reverse: SSAValue | bool
    ) -> tuple[SSAValue, SSAValue | None]:
        """Row t of step s for entry b, and 1.0/0.0 for whether the step is within b's
        length (None without sequence_lens)."""
        length: SSAValue = _index(self.steps)
        if not self.full_lengths:
            raw = arith.IndexCastOp(sched.LoadOp(self.lens, [b]).result, IndexType()).result
            # Clamped to [0, T]: a length out of range never reads or writes past the buffers.
            length = arith.MinSIOp(arith.MaxSIOp(raw, _index(0)).result, length).result
        backward = arith.SubiOp(arith.SubiOp(length, _index(1)).result, s).result
        t: SSAValue
        if reverse is True:
            t = backward
        elif reverse is False:
            t = s
        else:
            t = arith.SelectOp(reverse, backward, s).result
        if self.full_lengths:
            return t, None
        valid = arith.CmpiOp(s, length, "slt").result
        t = arith.SelectOp(valid, t, s).result
        return t, arith.SelectOp(valid, _float(1.0), _float(0.0)).result

    def _split_columns(self, blocks: int) -> bool:
        """Whether one direction's step product runs its column blocks across cores: a
        fork-join per step, paid where a step multiplies enough (a bidirectional op has its
        directions on the cores already)."""
        return (
            self.dirs == 1
            and blocks >= 2
            and self.batch * self.size * self.width >= STEP_SPLIT_MIN_WORK
        )

    def _product(self, d: SSAValue, source: SSAValue, s: SSAValue, start: int, stop: int) -> None:
        """acc[d, :, start:stop] = source[d] @ R^T[d][:, start:stop]: a register tile of up
        to `rows` batch rows by `group` packed blocks of columns, the hidden units streamed
        (each block's rows are contiguous), so R is read once per step for every row.

        A tile of fewer rows takes more blocks (`_group`), so it has enough independent FMAs
        to hide their latency. Unless the blocks are split across the cores, odd steps
        take the blocks in reverse order: the blocks the last step read last are still in
        the L2 when R is about as big as the L2 (1 MiB per direction at hidden 256)."""
        width = self.op.block
        blocks = (stop - start) // width
        split = self._split_columns(blocks)
        for first, count, height in _blocks(self.batch, self.rows):
            group = self._group(blocks, height, split)
            with _loop(count) as row_block:
                top = _add(arith.MuliOp(row_block, _index(height)).result, _index(first))
                with _loop(blocks // group, "parallel" if split else "serial") as tile:
                    if not split and blocks // group > 1:
                        tile = self._zigzag(s, tile, blocks // group)
                    first_block = _add(
                        arith.MuliOp(tile, _index(group)).result, _index(start // width)
                    )
                    with _loop(height, "unroll") as row, _loop(group, "unroll") as member:
                        b = _add(top, row)
                        base = arith.MuliOp(_add(first_block, member), _index(width)).result
                        with _loop(width, "vectorize") as lane:
                            sched.StoreOp(_float(0.0), self.acc, [d, b, _add(base, lane)])
                    with _loop(self.size) as k, _loop(height, "unroll") as row:
                        b = _add(top, row)
                        factor = sched.LoadOp(source, [d, b, k]).result
                        with _loop(group, "unroll") as member:
                            block = _add(first_block, member)
                            base = arith.MuliOp(block, _index(width)).result
                            with _loop(width, "vectorize") as lane:
                                j = _add(base, lane)
                                total = sched.LoadOp(self.acc, [d, b, j]).result
                                weight = sched.LoadOp(self.packed, [d, block, k, lane]).result
                                product = _add(total, _mul(factor, weight))
                                sched.StoreOp(product, self.acc, [d, b, j])

    def _group(self, blocks: int, height: int, split: bool) -> int:
        """Blocks per register tile of `height` rows: as many as the accumulators of `rows`
        rows of one block allow (up to 4), dividing the blocks. One when the blocks are
        split across the cores: there wider tiles measured slower (GRU speech model, one
        core: 0.53 against 0.43 ms)."""
        if split:
            return 1
        return next(
            (g for g in (4, 2) if g * height <= self.rows and blocks % g == 0),
            1,
        )

    @staticmethod
    def _zigzag(s: SSAValue, tile: SSAValue, tiles: int) -> SSAValue:
        """Tile `tile` on even steps, tiles-1-tile on odd ones."""
        odd = arith.CmpiOp(arith.AndIOp(s, _index(1)).result, _index(0), "ne").result
        backward = arith.SubiOp(_index(tiles - 1), tile).result
        return arith.SelectOp(odd, backward, tile).result

    def _clipped(self, x: SSAValue) -> SSAValue:
        if self.clip is None:
            return x
        low = arith.MaximumfOp(x, _float(-self.clip)).result
        return arith.MinimumfOp(low, _float(self.clip)).result

    def _preactivation(
        self, d: SSAValue, b: SSAValue, t: SSAValue, gate_offset: SSAValue, gate: int, j: SSAValue
    ) -> tuple[SSAValue, SSAValue]:
        """The gate's projected input (with its biases) and its recurrent product at unit j."""
        column = _add(_index(gate * self.size), j)
        row = _add(arith.MuliOp(t, _index(self.batch)).result, b)
        projected = sched.LoadOp(self.gates, [row, _add(gate_offset, column)]).result
        return projected, sched.LoadOp(self.acc, [d, b, column]).result

    def _reset_times_state(
        self,
        d: SSAValue,
        b: SSAValue,
        t: SSAValue,
        gate_offset: SSAValue,
        f: Callable[[SSAValue], SSAValue],
    ) -> None:
        """GRU without linear_before_reset: rh = r * h, the candidate's product operand."""
        assert self.rh is not None
        for j in self._iterate_hidden():
            r = f(self._clipped(_add(*self._preactivation(d, b, t, gate_offset, 1, j))))
            state = sched.LoadOp(self.h, [d, b, j]).result
            sched.StoreOp(_mul(r, state), self.rh, [d, b, j])

    def _iterate_hidden(self) -> Iterator[SSAValue]:
        """Like _hidden_lanes, as a generator of one index per block loop."""
        for first, count, width in _blocks(self.size, EPILOGUE_BLOCK):
            with _loop(count) as block:
                base = _add(arith.MuliOp(block, _index(width)).result, _index(first))
                with _loop(width, "vectorize") as lane:
                    yield _add(base, lane)

    def _gates(
        self,
        d: SSAValue,
        b: SSAValue,
        t: SSAValue,
        weight: SSAValue | None,
        gate_offset: SSAValue,
        functions: Sequence[Callable[[SSAValue], SSAValue]],
    ) -> None:
        """The cell's gates at each hidden unit; state and Y written (masked by `weight`)."""
        for j in self._iterate_hidden():
            h_prev = sched.LoadOp(self.h, [d, b, j]).result

            def pre(gate: int, j: SSAValue = j) -> SSAValue:
                return _add(*self._preactivation(d, b, t, gate_offset, gate, j))

            c_new: SSAValue | None = None
            c_prev: SSAValue | None = None
            if self.cell == "rnn":
                h_new = functions[0](self._clipped(pre(0)))
            elif self.cell == "gru":
                h_new = self._gru(d, b, t, gate_offset, j, h_prev, functions)
            else:
                assert self.c is not None
                c_prev = sched.LoadOp(self.c, [d, b, j]).result
                h_new, c_new = self._lstm(d, j, pre, c_prev, functions)
            y = h_new
            if weight is not None:
                rest = _sub(_float(1.0), weight)
                y = _mul(weight, h_new)
                h_new = _add(y, _mul(rest, h_prev))
                if c_new is not None and c_prev is not None:
                    c_new = _add(_mul(weight, c_new), _mul(rest, c_prev))
            sched.StoreOp(h_new, self.h, [d, b, j])
            if c_new is not None:
                assert self.c is not None
                sched.StoreOp(c_new, self.c, [d, b, j])
            sched.StoreOp(y, self.out, [t, d, b, j])

    def _peephole(self, d: SSAValue, j: SSAValue, which: int, c: SSAValue) -> SSAValue | None:
        if self.no_peepholes:
            return None
        p = sched.LoadOp(self.peep, [d, _add(_index(which * self.size), j)]).result
        return _mul(p, c)

    def _lstm(
        self,
        d: SSAValue,
        j: SSAValue,
        pre: Callable[[int], SSAValue],
        c_prev: SSAValue,
        functions: Sequence[Callable[[SSAValue], SSAValue]],
    ) -> tuple[SSAValue, SSAValue]:
        """Gates iofc, peepholes iof: c = f c' + i g(x_c); h = o h(c), o peeking at the new c."""
        f, g, h = functions

        def gate(index: int, peephole: int, c: SSAValue) -> SSAValue:
            x = pre(index)
            peek = self._peephole(d, j, peephole, c)
            return f(self._clipped(x if peek is None else _add(x, peek)))

        i = gate(0, 0, c_prev)
        forget = _sub(_float(1.0), i) if self.op.input_forget is not None else gate(2, 2, c_prev)
        candidate = g(self._clipped(pre(3)))
        c_new = _add(_mul(forget, c_prev), _mul(i, candidate))
        o = gate(1, 1, c_new)
        return _mul(o, h(c_new)), c_new

    def _gru(
        self,
        d: SSAValue,
        b: SSAValue,
        t: SSAValue,
        gate_offset: SSAValue,
        j: SSAValue,
        h_prev: SSAValue,
        functions: Sequence[Callable[[SSAValue], SSAValue]],
    ) -> SSAValue:
        """Gates zrh: h = (1 - z) g(x_h + ...) + z h', r inside or outside the product."""
        f, g = functions
        z = f(self._clipped(_add(*self._preactivation(d, b, t, gate_offset, 0, j))))
        x_h, product_h = self._preactivation(d, b, t, gate_offset, 2, j)
        if self.gru_reset_first:
            candidate = _add(x_h, product_h)
        else:
            r = f(self._clipped(_add(*self._preactivation(d, b, t, gate_offset, 1, j))))
            if not self.no_rbias:
                product_h = _add(product_h, sched.LoadOp(self.rbias, [d, j]).result)
            candidate = _add(x_h, _mul(r, product_h))
        hidden = g(self._clipped(candidate))
        return _add(_mul(_sub(_float(1.0), z), hidden), _mul(z, h_prev))


def emit_recurrence(
    op: graph.RecurrenceOp,
    buffers: Sequence[SSAValue],
    out: SSAValue,
    alloc: Callable[[MemRefType], SSAValue],
    cpu: CpuTargetAttr | None = None,
) -> sched.ForOp:
    """The loop nest computing `op` into `out` (see the module doc), its register tile sized
    for `cpu`'s vector registers."""
    return RecurrenceEmitter(op, buffers, out, alloc, cpu).build()


def keep_in_kernel(op: Operation, args: Sequence[SSAValue]) -> SSAValue:
    """The strategy of graph.recurrence: the op itself on the kernel's arguments, for
    convert-te-to-sched to build its loops (te has no serial loop to carry the state)."""
    assert isinstance(op, graph.RecurrenceOp)
    return graph.RecurrenceOp(
        args,
        op.cell.data,
        op.direction.data,
        op.activation_list(),
        clip=None if op.clip is None else op.clip.value.data,
        input_forget=op.input_forget is not None,
        linear_before_reset=op.linear_before_reset is not None,
    ).result
