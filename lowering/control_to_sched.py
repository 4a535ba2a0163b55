"""What convert-te-to-sched does for graph.if and graph.loop in the graph function: they become
`scf.if` and `scf.while` over kernel calls on buffers, so the whole model stays one function
the target entry runs natively (no interpreter).

- graph.if: the condition is loaded from its buffer; each branch's calls write their yielded
  values straight into the If's result buffers (convert-graph-to-te gave every yielded value
  a call of its own). Both branches' buffers are intermediates of the whole run: the memory
  plan may overlay the two branches' scratch, since they never run together.
- graph.loop: the carried values live in buffers that are the Loop's results; they start as
  copies of the initial values, the body reads them, computes the next values into its own
  buffers, and a copy kernel moves those back at the end of each iteration (so a body that
  reads a carried value after computing its next one is right). `scf.while` carries the
  iteration number (i64) and the condition (i1): it runs while `i < M && cond`, M being the
  constant trip count, the loaded runtime one, or none. The body's iteration-number and
  condition arguments, when used, are buffers the entry stores into each iteration. Each
  scan element is written by its kernel straight into its row of the [M, ...] scan output
  (`flow.slice`); when the loop can end early, the scan outputs are zeroed first, and a
  `counted` loop stores the iterations it ran.

All buffers and params are declared at the top of the graph function.
"""

from collections.abc import Mapping, Sequence

from xdsl.builder import ImplicitBuilder
from xdsl.dialects import arith, func, memref, scf
from xdsl.dialects.builtin import (
    AnyFloat,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    MemRefType,
    TensorType,
    i1,
    i64,
)
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue

from ziggurat.core.errors import CompileError
from ziggurat.dialects import flow, graph, sched

INT64_MAX = 2**63 - 1


def _buffer_type(tensor_type: Attribute) -> MemRefType:
    assert isinstance(tensor_type, TensorType)
    return MemRefType(tensor_type.element_type, tensor_type.get_shape())


def _nest(shape: Sequence[int], body: Block) -> tuple[Block, list[SSAValue]]:
    """Serial sched.for loops over `shape` added to `body`; the innermost block and indices."""
    indices: list[SSAValue] = []
    block = body
    for extent in shape:
        loop = sched.ForOp(0, extent, 1, Block(arg_types=[IndexType()]))
        _append(block, loop)
        block = loop.body.block
        indices.append(block.args[0])
    return block, indices


def _append(block: Block, op: Operation) -> None:
    """Adds `op` to a kernel body being built (the graph function's builder is active, so a
    new op starts out in the graph function: move it)."""
    if op.parent is not None:
        op.detach()
    last = block.last_op
    if isinstance(last, sched.YieldOp):
        block.insert_op_before(op, last)
    else:
        block.add_op(op)


def _zero(element: Attribute) -> arith.ConstantOp:
    if isinstance(element, IntegerType):
        return arith.ConstantOp(IntegerAttr(0, element))
    assert isinstance(element, AnyFloat)
    return arith.ConstantOp(FloatAttr(0.0, element))


class StateKernels:
    """The copy and zero-fill kernels loops need, one per buffer type, added to the module
    before the graph function as sched kernels (the schedules then treat them as any)."""

    def __init__(self, function: func.FuncOp):
        self.function = function
        module = function.parent_op()
        assert module is not None
        self.names = {op.sym_name.data for op in module.walk() if isinstance(op, func.FuncOp)}
        self.made: dict[tuple[str, MemRefType], str] = {}

    def _add(self, kind: str, buffer: MemRefType, arity: int) -> tuple[str, Block | None]:
        key = (kind, buffer)
        if key in self.made:
            return self.made[key], None
        n = 0
        while f"{kind}_{n}" in self.names:
            n += 1
        name = f"{kind}_{n}"
        self.names.add(name)
        self.made[key] = name
        return name, Block(arg_types=[buffer] * arity)

    def _finish(self, name: str, block: Block) -> None:
        _append(block, func.ReturnOp())
        kernel = func.FuncOp(name, (block.arg_types, []), Region(block), visibility="private")
        kernel.detach()
        parent = self.function.parent_block()
        assert parent is not None
        parent.insert_op_before(kernel, self.function)

    def copy(self, buffer: MemRefType) -> str:
        name, block = self._add("loop_copy", buffer, 2)
        if block is not None:
            inner, indices = _nest(buffer.get_shape(), block)
            load = sched.LoadOp(block.args[0], indices)
            _append(inner, load)
            _append(inner, sched.StoreOp(load.result, block.args[1], indices))
            self._finish(name, block)
        return name

    def zero(self, buffer: MemRefType) -> str:
        name, block = self._add("loop_zero", buffer, 1)
        if block is not None:
            inner, indices = _nest(buffer.get_shape(), block)
            value = _zero(buffer.element_type)
            _append(inner, value)
            _append(inner, sched.StoreOp(value.result, block.args[0], indices))
            self._finish(name, block)
        return name


def _used_beyond_yield(value: SSAValue) -> bool:
    return any(not isinstance(use.operation, graph.YieldOp) for use in value.uses)


class ControlLowering:
    """Lowers the control ops of one graph function, sharing its value -> buffer map."""

    def __init__(
        self,
        function: func.FuncOp,
        entry: Block,
        buffers: dict[SSAValue, SSAValue],
        returned: Mapping[SSAValue, SSAValue],
    ):
        self.entry = entry
        self.buffers = buffers
        self.returned = returned
        self.kernels = StateKernels(function)
        self.hoisted: list[Operation] = []

    def lower(self, op: Operation) -> None:
        """Emits `op` at the builder's insertion point (the graph function's block)."""
        self._control(op)
        first = self.entry.first_op
        for declared in self.hoisted:
            if first is None:
                self.entry.add_op(declared)
            else:
                self.entry.insert_op_before(declared, first)
        self.hoisted = []

    def _declare(self, op: Operation) -> SSAValue:
        op.detach()
        self.hoisted.append(op)
        return op.results[0]

    def _alloc(self, tensor_type: Attribute) -> SSAValue:
        return self._declare(sched.AllocOp(_buffer_type(tensor_type)))

    def _result(self, value: SSAValue) -> SSAValue:
        """The buffer of a control op's result: the graph output's when it is returned."""
        return self.returned.get(value) or self._alloc(value.type)

    def _load(self, buffer: SSAValue) -> SSAValue:
        assert isinstance(buffer.type, MemRefType)
        zeros = [
            arith.ConstantOp(IntegerAttr(0, IndexType())).result for _ in buffer.type.get_shape()
        ]
        return memref.LoadOp.get(buffer, zeros).res

    def _store(self, value: SSAValue, buffer: SSAValue) -> None:
        assert isinstance(buffer.type, MemRefType)
        zeros = [
            arith.ConstantOp(IntegerAttr(0, IndexType())).result for _ in buffer.type.get_shape()
        ]
        memref.StoreOp.get(value, buffer, zeros)

    def _control(self, op: Operation) -> None:
        if isinstance(op, graph.IfOp):
            self._if(op)
        elif isinstance(op, graph.LoopOp):
            self._loop(op)
        else:
            raise CompileError(f"convert-te-to-sched cannot lower {op.name} in a region.")

    def _block(self, block: Block, destinations: dict[SSAValue, SSAValue]) -> None:
        """The ops of a region: kernel calls writing their results into `destinations` or
        new buffers, params, nested control ops."""
        for inner in block.ops:
            if isinstance(inner, graph.WeightOp):
                param = sched.ParamOp(inner.weight_name.data, _buffer_type(inner.result.type))
                self.buffers[inner.result] = self._declare(param)
            elif isinstance(inner, func.CallOp):
                outs = [destinations.get(r) or self._alloc(r.type) for r in inner.res]
                self.buffers.update(zip(inner.res, outs, strict=True))
                args = [self.buffers[a] for a in inner.arguments]
                func.CallOp(inner.callee, [*args, *outs], [])
            elif isinstance(inner, graph.IfOp | graph.LoopOp):
                self._control(inner)
            elif not isinstance(inner, graph.YieldOp | graph.ConstantOp):
                raise CompileError(
                    f"convert-te-to-sched cannot lower {inner.name} in a region; run "
                    "convert-graph-to-te first."
                )

    def _if(self, op: graph.IfOp) -> None:
        results = [self._result(r) for r in op.outputs]
        self.buffers.update(zip(op.outputs, results, strict=True))
        cond = self._load(self.buffers[op.cond])
        regions = []
        for region in (op.then_region, op.else_region):
            terminator = region.block.last_op
            assert isinstance(terminator, graph.YieldOp)
            block = Block()
            with ImplicitBuilder(block):
                self._block(region.block, dict(zip(terminator.values, results, strict=True)))
                scf.YieldOp()
            regions.append(Region(block))
        scf.IfOp(cond, [], regions[0], regions[1])

    def _trip_count(self, op: graph.LoopOp) -> SSAValue:
        if op.trip_count is not None:
            return arith.ConstantOp(IntegerAttr(op.trip_count.value.data, i64)).result
        if op.max_trip_count is not None:
            return self._load(self.buffers[op.max_trip_count])
        return arith.ConstantOp(IntegerAttr(INT64_MAX, i64)).result

    def _loop(self, op: graph.LoopOp) -> None:
        body = op.body.block
        carried = len(op.initial)
        states = [self._result(r) for r in op.outputs[:carried]]
        scans = [self._result(r) for r in op.scan_outputs]
        self.buffers.update(zip(op.outputs, [*states, *scans], strict=False))
        count = self._result(op.outputs[-1]) if op.counted is not None else None
        if count is not None:
            self.buffers[op.outputs[-1]] = count
        iteration, cond_arg = body.args[0], body.args[1]
        scalars: dict[SSAValue, SSAValue] = {
            arg: self._alloc(arg.type) for arg in (iteration, cond_arg) if _used_beyond_yield(arg)
        }
        self.buffers.update(scalars)
        self.buffers.update(zip(body.args[2:], states, strict=True))
        for initial, state in zip(op.initial, states, strict=True):
            assert isinstance(state.type, MemRefType)
            func.CallOp(self.kernels.copy(state.type), [self.buffers[initial], state], [])
        terminator = body.last_op
        assert isinstance(terminator, graph.YieldOp)
        next_cond = terminator.values[0]
        constant_true = isinstance(next_cond.owner, graph.ConstantOp) and all(
            bool(v) for v in next_cond.owner.value.get_values()
        )
        if scans and (op.cond is not None or not constant_true):
            for scan in scans:
                assert isinstance(scan.type, MemRefType)
                func.CallOp(self.kernels.zero(scan.type), [scan], [])
        limit = self._trip_count(op)
        first = (
            self._load(self.buffers[op.cond])
            if op.cond is not None
            else arith.ConstantOp(IntegerAttr(1, i1)).result
        )
        start = arith.ConstantOp(IntegerAttr(0, i64)).result
        before = Block(arg_types=[i64, i1])
        with ImplicitBuilder(before):
            below = arith.CmpiOp(before.args[0], limit, "slt")
            scf.ConditionOp(arith.AndIOp(below, before.args[1]), *before.args)
        after = Block(arg_types=[i64, i1])
        with ImplicitBuilder(after):
            index, cond = after.args[0], after.args[1]
            for arg, current in ((iteration, index), (cond_arg, cond)):
                if arg in scalars:
                    self._store(current, scalars[arg])
            rows: dict[SSAValue, SSAValue] = {
                element: flow.SliceOp(scan, index).result
                for element, scan in zip(terminator.values[1 + carried :], scans, strict=True)
            }
            self._block(body, rows)
            for carried_out, state in zip(terminator.values[1 : 1 + carried], states, strict=True):
                assert isinstance(state.type, MemRefType)
                func.CallOp(self.kernels.copy(state.type), [self.buffers[carried_out], state], [])
            scf.YieldOp(
                arith.AddiOp(index, arith.ConstantOp(IntegerAttr(1, i64))),
                self._next_cond(next_cond, cond_arg, cond),
            )
        loop = scf.WhileOp([start, first], [i64, i1], Region(before), Region(after))
        if count is not None:
            self._store(loop.results[0], count)

    def _next_cond(self, value: SSAValue, cond_arg: SSAValue, cond: SSAValue) -> SSAValue:
        if value is cond_arg:
            return cond
        owner = value.owner
        if isinstance(owner, graph.ConstantOp):
            truth = all(bool(v) for v in owner.value.get_values())
            return arith.ConstantOp(IntegerAttr(int(truth), i1)).result
        return self._load(self.buffers[value])
