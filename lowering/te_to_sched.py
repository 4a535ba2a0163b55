"""convert-te-to-sched: tensors become buffers, te.compute bodies become loop nests.

Algorithm:
1. Each kernel `func.func private @k(tensors) -> tensor` becomes `@k(in buffers..., out
   buffers...)` in destination-passing style. A te.compute whose value the kernel returns
   writes the output buffer; any other gets a scratch `sched.alloc`.
2. A te.compute of shape (d0, ..., dn) becomes n+1 nested serial `sched.for` loops; inside,
   `te.read` becomes `sched.load` of the tensor's buffer and the yield a `sched.store`.
3. A te.reduce becomes a rank-0 accumulator: store the init, loop over the reduction space
   (loops marked `sched.axis = "reduce"`, which schedules must not run in parallel) loading,
   combining and storing, then load the result (LLVM keeps it in a register).
4. The graph function takes its outputs as extra buffer arguments (marked `sched.output`);
   weights become `sched.param`, kernel results `sched.alloc` buffers (or the output buffer
   they are returned in), and calls pass buffers.

Loops come out serial and in the compute's index order; schedules transform them afterwards.
Runs after convert-graph-to-te; convert-sched-to-target follows.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.builder import ImplicitBuilder
from xdsl.context import Context
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import (
    AnyFloat,
    ArrayAttr,
    DictionaryAttr,
    IndexType,
    MemRefType,
    ModuleOp,
    StringAttr,
    TensorType,
    UnitAttr,
)
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from ziggurat.core import statistics
from ziggurat.core.errors import CompileError
from ziggurat.dialects import graph, sched, te
from ziggurat.dialects.target import CPU_ATTR, CpuTargetAttr
from ziggurat.lowering.control_to_sched import ControlLowering
from ziggurat.lowering.graph_to_te import graph_functions
from ziggurat.lowering.recurrence import emit_recurrence

OUTPUT_ATTR = "sched.output"
"""Unit attribute on the graph function's arguments that are output buffers."""

COMBINE = {
    "sum": (arith.AddfOp, arith.AddiOp),
    "prod": (arith.MulfOp, arith.MuliOp),
    "max": (arith.MaximumfOp, arith.MaxSIOp),
    "min": (arith.MinimumfOp, arith.MinSIOp),
}
"""The op folding each element into a reduction, for float and for integer elements."""

UNSIGNED_COMBINE = {"max": arith.MaxUIOp, "min": arith.MinUIOp}
"""The reductions that differ for unsigned integers."""


def buffer_type(tensor_type: Attribute) -> MemRefType:
    assert isinstance(tensor_type, TensorType)
    return MemRefType(tensor_type.element_type, tensor_type.get_shape())


def loop_nest(extents: Sequence[int], kind: str = "serial") -> tuple[list[sched.ForOp], Block]:
    """Nested sched.for loops over `extents` (outermost first) and the innermost body."""
    loops: list[sched.ForOp] = []
    for extent in extents:
        loop = sched.ForOp(0, extent, 1, Block(arg_types=[IndexType()]), kind)
        if loops:
            append(loops[-1].body.block, loop)
        loops.append(loop)
    return loops, loops[-1].body.block if loops else Block()


def append(block: Block, op: Operation) -> None:
    """Adds `op` at the end of `block`, before a loop body's sched.yield."""
    terminator = block.last_op
    if isinstance(terminator, sched.YieldOp):
        block.insert_op_before(op, terminator)
    else:
        block.add_op(op)


class KernelLowering:
    """Lowers one kernel's te ops into loop nests; scratch buffers are collected in `allocs`
    for the caller to place at the top of the kernel."""

    def __init__(self, buffers: dict[SSAValue, SSAValue], cpu: CpuTargetAttr | None = None):
        self.buffers = buffers
        self.cpu = cpu
        self.allocs: list[sched.AllocOp] = []

    def alloc(self, buffer: MemRefType) -> SSAValue:
        self.allocs.append(sched.AllocOp(buffer))
        return self.allocs[-1].result

    def emit(self, op: Operation, at: Block, scope: dict[SSAValue, SSAValue]) -> None:
        """Appends `op` lowered to `at`, mapping its operands through `scope`."""
        if isinstance(op, te.ComputeOp):
            self.emit_compute(op, at, scope)
        elif isinstance(op, te.ReadOp):
            load = sched.LoadOp(self.buffers[op.tensor], [scope[i] for i in op.indices])
            append(at, load)
            scope[op.result] = load.result
        elif isinstance(op, te.ReduceOp):
            scope[op.result] = self.emit_reduce(op, at, scope)
        elif isinstance(op, graph.RecurrenceOp):
            out = self.buffers.get(op.result) or self.alloc(buffer_type(op.result.type))
            self.buffers[op.result] = out
            operands = [self.buffers[v] for v in op.operands]
            append(at, emit_recurrence(op, operands, out, self.alloc, self.cpu))
        elif isinstance(op, graph.ConstantOp):
            constant = sched.ConstantOp(op.value)
            append(at, constant)
            self.buffers[op.result] = constant.result
        elif not isinstance(op, te.YieldOp):
            clone = op.clone(value_mapper=scope)
            append(at, clone)
            scope.update(zip(op.results, clone.results, strict=True))

    def emit_compute(self, op: te.ComputeOp, at: Block, scope: dict[SSAValue, SSAValue]) -> None:
        if any(isinstance(o, te.ComputeOp) for o in op.body.walk() if o is not op):
            raise CompileError("te.compute may not be nested in another te.compute body.")
        out = self.buffers.get(op.result)
        if out is None:
            out = self.buffers[op.result] = self.alloc(buffer_type(op.result.type))
        loops, body = loop_nest(op.shape)
        statistics.count("computes-lowered")
        if loops:
            append(at, loops[0])
        else:
            body = at
        ivs = [loop.induction_var for loop in loops]
        _keep_names(op.body.block.args, ivs)
        inner = dict(scope)
        inner.update(zip(op.body.block.args, ivs, strict=True))
        for body_op in op.body.block.ops:
            self.emit(body_op, body, inner)
        yielded = op.body.block.last_op
        assert isinstance(yielded, te.YieldOp)
        append(body, sched.StoreOp(inner[yielded.value], out, ivs))

    def emit_reduce(self, op: te.ReduceOp, at: Block, scope: dict[SSAValue, SSAValue]) -> SSAValue:
        accumulator = self.alloc(MemRefType(op.result.type, []))
        append(at, sched.StoreOp(scope[op.init], accumulator, []))
        loops, body = loop_nest(op.extent_values)
        for loop in loops:
            loop.attributes[sched.AXIS_ATTR] = StringAttr("reduce")
        append(at, loops[0])
        ivs = [loop.induction_var for loop in loops]
        _keep_names(op.body.block.args, ivs)
        inner = dict(scope)
        inner.update(zip(op.body.block.args, ivs, strict=True))
        for body_op in op.body.block.ops:
            self.emit(body_op, body, inner)
        yielded = op.body.block.last_op
        assert isinstance(yielded, te.YieldOp)
        current = sched.LoadOp(accumulator, [])
        float_op, integer_op = COMBINE[op.kind.data]
        combine = float_op if isinstance(op.result.type, AnyFloat) else integer_op
        if graph.is_unsigned(op.result.type):
            combine = UNSIGNED_COMBINE.get(op.kind.data, combine)
        combined = combine(current.result, inner[yielded.value])
        for new in (current, combined, sched.StoreOp(combined.result, accumulator, [])):
            append(body, new)
        result = sched.LoadOp(accumulator, [])
        append(at, result)
        return result.result


def _keep_names(old: Sequence[SSAValue], new: Sequence[SSAValue]) -> None:
    for before, after in zip(old, new, strict=True):
        after.name_hint = before.name_hint


def _is_te_kernel(op: Operation) -> bool:
    if not isinstance(op, func.FuncOp) or op.sym_visibility is None:
        return False
    types = (*op.function_type.inputs.data, *op.function_type.outputs.data)
    return any(isinstance(t, TensorType) for t in types)


def lower_kernel(kernel: func.FuncOp, cpu: CpuTargetAttr | None = None) -> func.FuncOp:
    old = kernel.body.block
    ret = old.last_op
    assert isinstance(ret, func.ReturnOp)
    in_types = [buffer_type(t) for t in kernel.function_type.inputs.data]
    out_types = [buffer_type(t) for t in kernel.function_type.outputs.data]
    entry = Block(arg_types=[*in_types, *out_types])
    buffers: dict[SSAValue, SSAValue] = dict(
        zip(old.args, entry.args[: len(in_types)], strict=True)
    )
    _keep_names(old.args, entry.args[: len(in_types)])
    for value, out in zip(ret.arguments, entry.args[len(in_types) :], strict=True):
        if value in buffers:
            raise CompileError(
                f"kernel @{kernel.sym_name.data} returns an argument or a value twice; "
                "convert-graph-to-te gives such outputs a copy kernel."
            )
        buffers[value] = out
    lowering = KernelLowering(buffers, cpu)
    scope: dict[SSAValue, SSAValue] = {}
    for inner in old.ops:
        if not isinstance(inner, func.ReturnOp):
            lowering.emit(inner, entry, scope)
    entry.add_op(func.ReturnOp())
    for alloc in reversed(lowering.allocs):
        first = entry.first_op
        assert first is not None, "the entry block ends with func.return"
        entry.insert_op_before(alloc, first)
    return func.FuncOp(
        kernel.sym_name.data, (entry.arg_types, []), Region(entry), visibility="private"
    )


def _name_attrs(attrs: ArrayAttr[DictionaryAttr] | None, count: int) -> list[DictionaryAttr]:
    if attrs is None:
        return [DictionaryAttr({}) for _ in range(count)]
    return list(attrs.data)


def lower_graph_function(function: func.FuncOp) -> func.FuncOp:
    old = function.body.block
    ret = old.last_op
    assert isinstance(ret, func.ReturnOp)
    in_types = [buffer_type(t) for t in function.function_type.inputs.data]
    out_types = [buffer_type(t) for t in function.function_type.outputs.data]
    entry = Block(arg_types=[*in_types, *out_types])
    buffers: dict[SSAValue, SSAValue] = dict(
        zip(old.args, entry.args[: len(in_types)], strict=True)
    )
    _keep_names(old.args, entry.args[: len(in_types)])
    returned = dict(zip(ret.arguments, entry.args[len(in_types) :], strict=True))
    control = ControlLowering(function, entry, buffers, returned)
    with ImplicitBuilder(entry):
        for inner in old.ops:
            if isinstance(inner, graph.WeightOp):
                buffers[inner.result] = sched.ParamOp(
                    inner.weight_name.data, buffer_type(inner.result.type)
                ).result
            elif isinstance(inner, func.CallOp):
                outs = [
                    returned.get(r) or sched.AllocOp(buffer_type(r.type)).result for r in inner.res
                ]
                buffers.update(zip(inner.res, outs, strict=True))
                func.CallOp(inner.callee, [*(buffers[a] for a in inner.arguments), *outs], [])
            elif isinstance(inner, func.ReturnOp):
                func.ReturnOp()
            elif isinstance(inner, graph.IfOp | graph.LoopOp):
                control.lower(inner)
            else:
                raise CompileError(
                    f"convert-te-to-sched cannot lower {inner.name} in @{function.sym_name.data}; "
                    "run convert-graph-to-te first."
                )
    arg_attrs = _name_attrs(function.arg_attrs, len(in_types))
    for attrs in _name_attrs(function.res_attrs, len(out_types)):
        arg_attrs.append(DictionaryAttr({**attrs.data, OUTPUT_ATTR: UnitAttr()}))
    return func.FuncOp(
        function.sym_name.data, (entry.arg_types, []), Region(entry), arg_attrs=ArrayAttr(arg_attrs)
    )


@dataclass(frozen=True)
class ConvertTeToSched(ModulePass):
    """Turns te kernels into loop nests over buffers and the graph function into calls on
    buffers (destination-passing style)."""

    name = "convert-te-to-sched"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        cpu = op.attributes.get(CPU_ATTR)
        cpu = cpu if isinstance(cpu, CpuTargetAttr) else None
        for kernel in [k for k in op.ops if _is_te_kernel(k)]:
            assert isinstance(kernel, func.FuncOp)
            Rewriter.insert_op(lower_kernel(kernel, cpu), InsertPoint.before(kernel))
            Rewriter.erase_op(kernel)
        for function in graph_functions(op):
            types = (*function.function_type.inputs.data, *function.function_type.outputs.data)
            if not any(isinstance(t, TensorType) for t in types):
                continue
            Rewriter.insert_op(lower_graph_function(function), InsertPoint.before(function))
            Rewriter.erase_op(function)
