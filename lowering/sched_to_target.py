"""convert-sched-to-target: loop nests become target kernels, the graph function the entry.

Algorithm:
1. Attach the `#target.cpu` made from the `target` option to the module (an attribute already
   there wins when the option is left unset).
2. Each sched kernel (a private func.func over buffers) becomes a `target.kernel` with the
   bare-pointer ABI. Inside it `sched.for` becomes `scf.for` (its kind kept as the
   `sched.kind` attribute for the target lowering), `sched.load`/`sched.store` become
   `memref.load`/`memref.store`, and scratch `sched.alloc` becomes a stack `memref.alloca`, or
   a heap `memref.alloc` freed before returning when larger than `stack-limit` bytes;
   `sched.constant` becomes a constant `memref.global` read through `memref.get_global`.
   Each distinct `arith.constant` then sits once at the top of the kernel.
3. The graph function becomes `target.entry @main`: its buffers are numbered inputs first,
   then outputs, params and intermediates, each a `target.buffer` slot with the model's name;
   calls become `target.launch`.

Runs after convert-te-to-sched and the schedules; convert-target-to-llvm follows.
"""

import math
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, func, memref, scf
from xdsl.dialects.builtin import (
    FixedBitwidthType,
    FloatAttr,
    IndexType,
    IntegerAttr,
    MemRefType,
    ModuleOp,
    StringAttr,
    UnitAttr,
)
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.rewriter import InsertPoint, Rewriter

from ziggurat.core import statistics
from ziggurat.core.errors import CompileError
from ziggurat.core.targets import as_target
from ziggurat.dialects import graph, sched, target
from ziggurat.dialects.shapes import num_elements
from ziggurat.lowering.control_to_target import ENTRY_OPS, clone_into_entry
from ziggurat.lowering.graph_to_te import graph_functions
from ziggurat.lowering.te_to_sched import OUTPUT_ATTR

KIND_ATTR = "sched.kind"
"""scf.for attribute keeping the sched.for kind (parallel, vectorize, unroll)."""


def _index(value: int) -> Operation:
    return arith.ConstantOp(IntegerAttr(value, IndexType()))


class ForToScf(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: sched.ForOp, rewriter: PatternRewriter) -> None:
        bounds = [_index(op.lower.data), _index(op.upper.data), _index(op.step.data)]
        body = rewriter.move_region_contents_to_new_regions(op.body)
        terminator = body.block.last_op
        assert isinstance(terminator, sched.YieldOp)
        rewriter.replace(terminator, scf.YieldOp())
        loop = scf.ForOp(bounds[0], bounds[1], bounds[2], [], body)
        if op.kind.data != "serial":
            loop.attributes[KIND_ATTR] = op.kind
        rewriter.replace(op, [*bounds, loop], [])


class LoadToMemref(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: sched.LoadOp, rewriter: PatternRewriter) -> None:
        rewriter.replace(op, memref.LoadOp.get(op.buffer, op.indices))


class StoreToMemref(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: sched.StoreOp, rewriter: PatternRewriter) -> None:
        rewriter.replace(op, memref.StoreOp.get(op.value, op.buffer, op.indices))


def _scratch_bytes(buffer: MemRefType) -> int:
    element = buffer.element_type
    assert isinstance(element, FixedBitwidthType), element
    bits = element.bitwidth
    return num_elements(buffer.get_shape()) * max(1, bits // 8)


def lower_kernel(
    function: func.FuncOp, stack_limit: int
) -> tuple[target.KernelOp, list[memref.GlobalOp]]:
    """The kernel, and the read-only globals holding its constants."""
    body = Rewriter.move_region_contents_to_new_regions(function.body)
    block = body.block
    ret = block.last_op
    assert isinstance(ret, func.ReturnOp)
    heap: list[SSAValue] = []
    constants: list[memref.GlobalOp] = []
    for op in list(block.ops):
        if isinstance(op, sched.ConstantOp):
            name = f"{function.sym_name.data}_constant{len(constants)}"
            constants.append(
                memref.GlobalOp.get(
                    StringAttr(name), op.result.type, op.value, constant=UnitAttr(), alignment=64
                )
            )
            Rewriter.replace_op(op, memref.GetGlobalOp(name, op.result.type))
            continue
        if isinstance(op, sched.AllocOp):
            buffer = op.result.type
            assert isinstance(buffer, MemRefType)
            if _scratch_bytes(buffer) > stack_limit:
                new: Operation = memref.AllocOp.get(buffer.element_type, 64, buffer.get_shape())
                heap.append(new.results[0])
            else:
                new = memref.AllocaOp.get(buffer.element_type, 64, buffer.get_shape())
            Rewriter.replace_op(op, new)
    for allocated in heap:
        Rewriter.insert_op(memref.DeallocOp.get(allocated), InsertPoint.before(ret))
    Rewriter.replace_op(ret, target.ReturnOp())
    kernel = target.KernelOp(function.sym_name.data, [arg.type for arg in block.args], body)
    PatternRewriteWalker(
        GreedyRewritePatternApplier([ForToScf(), LoadToMemref(), StoreToMemref()]),
        apply_recursively=False,
    ).rewrite_region(kernel.body)
    statistics.count("constants-shared", share_constants(kernel.body.block))
    return kernel, constants


def _constant_key(op: arith.ConstantOp) -> tuple[object, ...]:
    """Equal keys for equal constants; -0.0 and 0.0 compare equal as floats, so a float
    constant's key carries its sign too."""
    value = op.value
    sign = math.copysign(1.0, value.value.data) if isinstance(value, FloatAttr) else 0.0
    return (value, op.result.type, sign)


def share_constants(entry: Block) -> int:
    """Moves each distinct `arith.constant` of a kernel to its entry block, once, and points
    every copy's uses at it: loop bounds and unrolled bodies repeat a few values many times,
    and each copy would cost its lowering and translation. Returns the copies removed."""
    shared: dict[tuple[object, ...], SSAValue] = {}
    hoisted: list[Operation] = []
    removed = 0
    for op in list(entry.walk()):
        if not isinstance(op, arith.ConstantOp):
            continue
        try:
            key = _constant_key(op)
            known = shared.get(key)
        except TypeError:
            continue
        if known is not None:
            op.result.replace_all_uses_with(known)
            Rewriter.erase_op(op)
            removed += 1
            continue
        shared[key] = op.result
        op.detach()
        hoisted.append(op)
    if hoisted:
        Rewriter.insert_op(hoisted, InsertPoint.at_start(entry))
    return removed


def _arg_name(function: func.FuncOp, index: int, default: str) -> str:
    if function.arg_attrs is None:
        return default
    name = function.arg_attrs.data[index].data.get(graph.NAME_ATTR)
    return name.data if isinstance(name, StringAttr) else default


def lower_entry(function: func.FuncOp) -> target.EntryOp:
    block = function.body.block
    slots: list[tuple[str, str, SSAValue]] = []
    outputs: list[tuple[str, str, SSAValue]] = []
    for n, arg in enumerate(block.args):
        attrs = function.arg_attrs.data[n].data if function.arg_attrs else {}
        if OUTPUT_ATTR in attrs:
            outputs.append(("output", _arg_name(function, n, f"output{len(outputs)}"), arg))
        else:
            slots.append(("input", _arg_name(function, n, f"input{len(slots)}"), arg))
    slots += outputs
    params = [op for op in block.ops if isinstance(op, sched.ParamOp)]
    slots += [("param", op.param_name.data, op.result) for op in params]
    allocs = [op for op in block.ops if isinstance(op, sched.AllocOp)]
    slots += [("intermediate", f"t{n}", op.result) for n, op in enumerate(allocs)]

    entry = Block()
    mapping: dict[SSAValue, SSAValue] = {}
    for index, (kind, name, value) in enumerate(slots):
        buffer_type = value.type
        assert isinstance(buffer_type, MemRefType)
        buffer = target.BufferOp(index, kind, name, buffer_type)
        entry.add_op(buffer)
        mapping[value] = buffer.result
    for op in block.ops:
        if isinstance(op, func.CallOp):
            entry.add_op(
                target.LaunchOp(op.callee.string_value(), [mapping[a] for a in op.arguments])
            )
        elif isinstance(op, ENTRY_OPS):
            entry.add_op(clone_into_entry(op, mapping))
        elif not isinstance(op, sched.ParamOp | sched.AllocOp | func.ReturnOp):
            raise CompileError(
                f"convert-sched-to-target cannot place {op.name} in the graph function "
                f"@{function.sym_name.data}."
            )
    entry.add_op(target.ReturnOp())
    return target.EntryOp(function.sym_name.data, Region(entry))


def is_sched_kernel(op: Operation) -> bool:
    """A kernel at the sched level: a private function over buffers returning nothing."""
    return (
        isinstance(op, func.FuncOp)
        and op.sym_visibility is not None
        and not op.function_type.outputs.data
        and all(isinstance(t, MemRefType) for t in op.function_type.inputs.data)
    )


@dataclass(frozen=True)
class ConvertSchedToTarget(ModulePass):
    """Makes target kernels and the target entry from sched kernels and the graph function,
    for the CPU the `target` string names (TVM syntax, e.g. `llvm -mcpu=native`)."""

    name = "convert-sched-to-target"
    target: str | None = None
    stack_limit: int = 65536

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if self.target is not None or target.CPU_ATTR not in op.attributes:
            op.attributes[target.CPU_ATTR] = as_target(self.target or "llvm -mcpu=native")
        for kernel in [k for k in op.ops if is_sched_kernel(k)]:
            assert isinstance(kernel, func.FuncOp)
            lowered, constants = lower_kernel(kernel, self.stack_limit)
            statistics.count("kernels")
            statistics.count("constant-buffers", len(constants))
            Rewriter.insert_op([*constants, lowered], InsertPoint.before(kernel))
            Rewriter.erase_op(kernel)
        lower_entries(op)


def lower_entries(module: ModuleOp) -> None:
    """Each graph function over buffers becomes its target.entry; kernels are left as they
    are (a build lowers them in their own compile units)."""
    for function in graph_functions(module):
        if any(isinstance(t, MemRefType) for t in function.function_type.inputs.data):
            entry = lower_entry(function)
            statistics.count("buffers", len(entry.buffers))
            Rewriter.insert_op(entry, InsertPoint.before(function))
            Rewriter.erase_op(function)
