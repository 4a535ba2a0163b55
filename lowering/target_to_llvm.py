"""convert-target-to-llvm: target kernels and the entry to xDSL's llvm dialect.

Algorithm:
1. Each `target.kernel` becomes an external `llvm.func` taking one `!llvm.ptr` per buffer,
   marked `noalias`, 64-byte aligned and dereferenceable for the buffer's size (the runtime
   allocates every buffer so). `memref.load`/`memref.store` and `vector.load`/`vector.store`
   become `getelementptr inbounds` on the row-major offset plus `llvm.load`/`llvm.store`
   aligned to one element: GEP addressing, not ptrtoint, so LLVM's vectorizer sees through it. Scratch becomes `llvm.alloca` (stack) or `aligned_alloc`/`free`.
2. Parallel loops are outlined onto libgomp (parallel.py) unless `parallel-runtime=serial`
   or the target has one core; then `scf.for` becomes branches (xDSL's convert-scf-to-cf), index values become i64, and arith,
   math and cf become llvm ops (std_to_llvm.py).
3. `target.entry` becomes `void @main(ptr %table)`: each buffer is loaded from its table slot
   and each launch is an `llvm.call`; its control flow (scf.if, scf.while) becomes branches
   with the kernels' loops.
4. The module gets `llvm.target_triple` from its `#target.cpu`.

Runs after convert-sched-to-target; the result translates to LLVM IR text (`-t llvm`).
"""

from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import llvm, memref, scf, vector
from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseIntOrFPElementsAttr,
    DictionaryAttr,
    FixedBitwidthType,
    IntAttr,
    IntegerAttr,
    MemRefType,
    ModuleOp,
    StringAttr,
    TensorType,
    UnitAttr,
    i64,
)
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter, PatternRewriteWalker, RewritePattern
from xdsl.rewriter import InsertPoint, Rewriter
from xdsl.transforms.convert_scf_to_cf import ForLowering, IfLowering, SwitchLowering

from ziggurat.core import statistics
from ziggurat.core.errors import CompileError
from ziggurat.dialects import target
from ziggurat.dialects.shapes import num_elements
from ziggurat.lowering.bfloat16 import emulate_bfloat16
from ziggurat.lowering.control_to_target import lower_slices, lower_while_loops
from ziggurat.lowering.dot2 import lower_dot2
from ziggurat.lowering.dot4 import lower_dot4
from ziggurat.lowering.parallel import outline_parallel_loops
from ziggurat.lowering.std_to_llvm import LibmDeclarations, StdToLLVM, index_to_i64
from ziggurat.lowering.vector_casts import lower_vector_casts

BUFFER_ALIGNMENT = 64
PARALLEL_RUNTIMES = ("gomp", "serial")
"""How parallel loops run: on libgomp's threads, or serially (where no OpenMP runtime is)."""
GEP_DYNAMIC = llvm.GEP_USE_SSA_VAL


def _element_bits(buffer: MemRefType) -> int:
    element = buffer.element_type
    assert isinstance(element, FixedBitwidthType), element
    return element.bitwidth


def _nbytes(buffer: MemRefType) -> int:
    return num_elements(buffer.get_shape()) * _element_bits(buffer) // 8


def _i64(value: int) -> Operation:
    return llvm.ConstantOp(IntegerAttr(value, i64), i64)


def _element_pointer(buffer: SSAValue, indices: Sequence[SSAValue]) -> list[Operation]:
    """The GEP computing &buffer[indices]: one index per dimension over the row-major array
    type of the inner dimensions (LLVM folds the strides), so no offset arithmetic is built
    per access."""
    buffer_type = buffer.type
    assert isinstance(buffer_type, MemRefType)
    if not indices:
        return []
    pointee: Attribute = buffer_type.element_type
    for extent in reversed(buffer_type.get_shape()[1:]):
        pointee = llvm.LLVMArrayType(IntAttr(extent), pointee)
    return [llvm.GEPOp(buffer, [GEP_DYNAMIC] * len(indices), pointee, list(indices), inbounds=True)]


def _element_bytes(buffer: SSAValue) -> int:
    """The alignment an access can rely on: an element's, since a kernel may be handed a
    buffer at any element offset."""
    assert isinstance(buffer.type, MemRefType)
    return _element_bits(buffer.type) // 8


def _lower_access(op: Operation) -> None:
    """Scalar and vector loads and stores as a GEP plus llvm.load/llvm.store; a vector
    access covers contiguous elements from the indexed one."""
    if isinstance(op, memref.LoadOp | vector.LoadOp):
        buffer, result = (
            (op.memref, op.res) if isinstance(op, memref.LoadOp) else (op.base, op.result)
        )
        ops = _element_pointer(buffer, op.indices)
        pointer = ops[-1].results[0] if ops else buffer
        load = llvm.LoadOp(pointer, result.type, alignment=_element_bytes(buffer))
        Rewriter.replace_op(op, [*ops, load])
    elif isinstance(op, memref.StoreOp | vector.StoreOp):
        buffer, value = (
            (op.memref, op.value) if isinstance(op, memref.StoreOp) else (op.base, op.vector)
        )
        ops = _element_pointer(buffer, op.indices)
        if ops or isinstance(op, vector.StoreOp):
            # llvmlite types the pointers of GEPs (by their source array) and allocas (by
            # their element), and refuses a store whose value is not that type: pass the
            # pointer through an opaque ptr (a no-op in LLVM).
            ops.append(llvm.BitcastOp(ops[-1] if ops else buffer, llvm.LLVMPointerType()))
        pointer = ops[-1].results[0] if ops else buffer
        store = llvm.StoreOp(value, pointer, alignment=_element_bytes(buffer))
        Rewriter.replace_op(op, [*ops, store])


class HeapScratch:
    """aligned_alloc/free declarations for scratch too large for the stack."""

    def __init__(self, module: ModuleOp):
        self.module = module
        self.declared = False

    def declare(self) -> None:
        if self.declared:
            return
        ptr = llvm.LLVMPointerType()
        external = llvm.LinkageAttr("external")
        first = self.module.body.block.first_op
        assert first is not None, "declarations are made for a module that holds kernels"
        for decl in (
            llvm.FuncOp("aligned_alloc", llvm.LLVMFunctionType([i64, i64], ptr), linkage=external),
            llvm.FuncOp("free", llvm.LLVMFunctionType([ptr]), linkage=external),
        ):
            self.module.body.block.insert_op_before(decl, first)
        self.declared = True


def _lower_scratch(op: Operation, heap: HeapScratch) -> None:
    ptr = llvm.LLVMPointerType()
    if isinstance(op, memref.AllocaOp):
        buffer = op.memref.type
        assert isinstance(buffer, MemRefType)
        count = _i64(num_elements(buffer.get_shape()))
        alloca = llvm.AllocaOp(count, buffer.element_type, BUFFER_ALIGNMENT)
        Rewriter.replace_op(op, [count, alloca])
    elif isinstance(op, memref.AllocOp):
        buffer = op.memref.type
        assert isinstance(buffer, MemRefType)
        heap.declare()
        size = -(-_nbytes(buffer) // BUFFER_ALIGNMENT) * BUFFER_ALIGNMENT
        align, nbytes = _i64(BUFFER_ALIGNMENT), _i64(size)
        call = llvm.CallOp("aligned_alloc", align, nbytes, return_type=ptr)
        Rewriter.replace_op(op, [align, nbytes, call])
    elif isinstance(op, memref.DeallocOp):
        Rewriter.replace_op(op, llvm.CallOp("free", op.memref))
    elif isinstance(op, memref.GetGlobalOp):
        Rewriter.replace_op(op, llvm.AddressOfOp(op.name_.root_reference.data, ptr))


def lower_global(op: memref.GlobalOp) -> llvm.GlobalOp:
    """A constant buffer as an internal, 64-byte aligned LLVM global array."""
    buffer = op.type
    assert isinstance(buffer, MemRefType) and isinstance(op.initial_value, DenseIntOrFPElementsAttr)
    count = num_elements(buffer.get_shape())
    flat = DenseIntOrFPElementsAttr.from_list(
        TensorType(buffer.element_type, [count]), list(op.initial_value.get_values())
    )
    return llvm.GlobalOp(
        llvm.LLVMArrayType(IntAttr(count), buffer.element_type),
        op.sym_name,
        "internal",
        constant=True,
        value=flat,
        alignment=BUFFER_ALIGNMENT,
    )


def lower_kernel(kernel: target.KernelOp, heap: HeapScratch) -> llvm.FuncOp:
    body = Rewriter.move_region_contents_to_new_regions(kernel.body)
    for op in list(body.walk()):
        _lower_access(op)
    for op in list(body.walk()):
        _lower_scratch(op, heap)
        if isinstance(op, target.ReturnOp):
            Rewriter.replace_op(op, llvm.ReturnOp())
    ptr = llvm.LLVMPointerType()
    arg_attrs: list[DictionaryAttr] = []
    for arg in list(body.block.args):
        assert isinstance(arg.type, MemRefType)
        arg_attrs.append(
            DictionaryAttr(
                {
                    "llvm.noalias": UnitAttr(),
                    "llvm.align": IntegerAttr(BUFFER_ALIGNMENT, i64),
                    "llvm.dereferenceable": IntegerAttr(max(1, _nbytes(arg.type)), i64),
                }
            )
        )
        Rewriter.replace_value_with_new_type(arg, ptr)
    function = llvm.FuncOp(
        kernel.sym_name.data,
        llvm.LLVMFunctionType([ptr] * len(body.block.args)),
        linkage=llvm.LinkageAttr("external"),
        body=body,
    )
    function.arg_attrs = ArrayAttr(arg_attrs)
    return function


def lower_entry(entry: target.EntryOp) -> llvm.FuncOp:
    """The entry as `void @main(ptr %table)`: each buffer loaded from its table slot, each
    launch an `llvm.call`; control flow around launches (scf, scalar loads and stores of
    conditions and counters, flow.slice rows) is lowered in place with the kernels' ops."""
    ptr = llvm.LLVMPointerType()
    body = Rewriter.move_region_contents_to_new_regions(entry.body)
    block = body.block
    table = block.insert_arg(ptr, 0)
    for op in list(body.walk()):
        _lower_access(op)
    lower_slices(body)
    for op in list(block.ops):
        if isinstance(op, target.BufferOp):
            slot = llvm.GEPOp(table, [op.index.data], ptr)
            load = llvm.LoadOp(slot, ptr, alignment=8)
            Rewriter.replace_op(op, [slot, load])
    for op in list(body.walk()):
        if isinstance(op, target.LaunchOp):
            Rewriter.replace_op(op, llvm.CallOp(op.callee.string_value(), *op.args))
        elif isinstance(op, target.ReturnOp):
            Rewriter.replace_op(op, llvm.ReturnOp())
    return llvm.FuncOp(
        entry.sym_name.data,
        llvm.LLVMFunctionType([ptr]),
        linkage=llvm.LinkageAttr("external"),
        body=body,
    )


@dataclass(frozen=True)
class ConvertTargetToLLVM(ModulePass):
    """Lowers target kernels and the entry, with their scf/arith/math/memref bodies, to the
    llvm dialect ready for translation to LLVM IR."""

    name = "convert-target-to-llvm"
    parallel_runtime: str = "gomp"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if self.parallel_runtime not in PARALLEL_RUNTIMES:
            raise CompileError(
                f"convert-target-to-llvm parallel-runtime must be one of "
                f"{', '.join(PARALLEL_RUNTIMES)}, got '{self.parallel_runtime}'."
            )
        emulate_bfloat16(op)
        cpu = op.attributes.get(target.CPU_ATTR)
        lower_dot4(op, cpu if isinstance(cpu, target.CpuTargetAttr) else None)
        lower_dot2(op, cpu if isinstance(cpu, target.CpuTargetAttr) else None)
        lower_vector_casts(op)
        heap = HeapScratch(op)
        for constant in [g for g in op.ops if isinstance(g, memref.GlobalOp)]:
            Rewriter.replace_op(constant, lower_global(constant))
        for kernel in [k for k in op.ops if isinstance(k, target.KernelOp)]:
            Rewriter.insert_op(lower_kernel(kernel, heap), InsertPoint.before(kernel))
            Rewriter.erase_op(kernel)
        for entry in [e for e in op.ops if isinstance(e, target.EntryOp)]:
            Rewriter.insert_op(lower_entry(entry), InsertPoint.before(entry))
            Rewriter.erase_op(entry)
        index_to_i64(op)
        cores = cpu.cores.data if isinstance(cpu, target.CpuTargetAttr) else 1
        if self.parallel_runtime == "gomp" and cores > 1:
            statistics.count("loops-outlined", outline_parallel_loops(op, cores))
        lower_while_loops(op)
        lower_structured_control_flow(op)
        PatternRewriteWalker(
            StdToLLVM(LibmDeclarations(op)), apply_recursively=False
        ).rewrite_module(op)
        if isinstance(cpu, target.CpuTargetAttr):
            op.attributes["llvm.target_triple"] = StringAttr(cpu.triple.data)


def lower_structured_control_flow(module: ModuleOp) -> None:
    """scf.for, scf.if and scf.index_switch to branches between blocks, with the rewrites of
    xDSL's convert-scf-to-cf applied to those ops alone: its walker visits every op of the
    module and tried each pattern on it (a fifth of this pass's time on a model)."""
    patterns: list[RewritePattern] = [SwitchLowering(), IfLowering(), ForLowering()]
    structured = (scf.ForOp, scf.IfOp, scf.IndexSwitchOp)
    for found in [o for o in module.walk() if isinstance(o, structured)]:
        for pattern in patterns:
            rewriter = PatternRewriter(found)
            pattern.match_and_rewrite(found, rewriter)
            if rewriter.has_done_action:
                break
