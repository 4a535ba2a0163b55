"""Parallel loops on OpenMP's runtime: each `parallel` loop is outlined and run by
`GOMP_parallel`, libgomp's C entry, with a fork-join of about a microsecond.

For a loop `scf.for %i = %lb to %ub step %s {sched.kind = "parallel"} { body }` in a kernel:
1. The values the body uses from outside are captured: constants are cloned into the outlined
   function, stack scratch used only inside the loop moves into it (each thread gets its
   own), everything else is stored into an 8-byte slot of a context array on the stack.
2. The outlined `void @<kernel>_par<n>(ptr %context)` reloads the captures, takes its thread
   number t of T and runs iterations [t * ceil(N / T), min(N, (t + 1) * ceil(N / T))).
3. The loop is replaced by the stores and `GOMP_parallel(@outlined, %context, T, 0)` with
   T = min(cores, omp_get_max_threads()): the calling thread's OpenMP thread count (its ICV,
   OMP_NUM_THREADS or what the runtime set for it) caps the target's cores, so a runtime
   serving several callers at once can run each caller's kernels on fewer threads.
Parallel loops nested in a parallel loop run serially inside it.

Runs inside convert-target-to-llvm, after index values became i64 and before scf-to-cf.
"""

from xdsl.builder import ImplicitBuilder
from xdsl.dialects import arith, llvm, scf
from xdsl.dialects.builtin import IntegerAttr, ModuleOp, StringAttr, i32, i64
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from ziggurat.core.errors import CompileError
from ziggurat.lowering.sched_to_target import KIND_ATTR

RUNTIME_FUNCTIONS = {
    "GOMP_parallel": ([llvm.LLVMPointerType(), llvm.LLVMPointerType(), i32, i32], None),
    "omp_get_thread_num": ([], i32),
    "omp_get_num_threads": ([], i32),
    "omp_get_max_threads": ([], i32),
}
CONSTANT_OPS = (arith.ConstantOp, llvm.ConstantOp)


def _declare_runtime(module: ModuleOp) -> None:
    present = {op.sym_name.data for op in module.ops if isinstance(op, llvm.FuncOp)}
    first = module.body.block.first_op
    for name, (inputs, output) in RUNTIME_FUNCTIONS.items():
        if name not in present:
            declaration = llvm.FuncOp(
                name, llvm.LLVMFunctionType(inputs, output), linkage=llvm.LinkageAttr("external")
            )
            module.body.block.insert_op_before(declaration, first)  # type: ignore[arg-type]


def _inside(op: Operation, loop: scf.ForOp) -> bool:
    return loop.is_ancestor(op)


def _captures(loop: scf.ForOp) -> tuple[list[Operation], list[Operation], list[SSAValue]]:
    """(constants to clone, scratch to move, values to pass) that the loop uses from outside."""
    constants: list[Operation] = []
    private: list[Operation] = []
    passed: list[SSAValue] = []
    seen: set[SSAValue] = set()
    for op in loop.walk():
        for value in op.operands:
            owner = value.owner
            if value in seen or (isinstance(owner, Operation) and _inside(owner, loop)):
                continue
            if isinstance(owner, Block) and loop.is_ancestor(owner.parent_op() or loop):
                continue
            seen.add(value)
            if isinstance(owner, CONSTANT_OPS):
                constants.append(owner)
            elif isinstance(owner, llvm.AllocaOp) and all(
                _inside(u.operation, loop) for u in value.uses
            ):
                size = owner.size.owner
                if isinstance(size, CONSTANT_OPS) and size not in constants:
                    constants.append(size)
                private.append(owner)
            else:
                passed.append(value)
    return constants, private, passed


def _slot(context: SSAValue, index: int) -> Operation:
    return llvm.GEPOp(context, [index], llvm.LLVMPointerType())


def _check_capturable(value: SSAValue) -> None:
    if not isinstance(value.type, llvm.LLVMPointerType) and value.type != i64:
        raise CompileError(f"a parallel loop cannot capture a value of type {value.type}.")


def _chunk_bounds(lower: SSAValue, upper: SSAValue, step: SSAValue) -> tuple[SSAValue, SSAValue]:
    """This thread's [start, end) in iteration numbers; call inside an ImplicitBuilder."""
    one = arith.ConstantOp(IntegerAttr(1, i64)).result
    thread = arith.ExtSIOp(llvm.CallOp("omp_get_thread_num", return_type=i32).results[0], i64)
    threads = arith.ExtSIOp(llvm.CallOp("omp_get_num_threads", return_type=i32).results[0], i64)
    span = arith.SubiOp(upper, lower).result
    trips = arith.DivSIOp(arith.AddiOp(span, arith.SubiOp(step, one)).result, step).result
    chunk = arith.DivSIOp(
        arith.AddiOp(trips, arith.SubiOp(threads.result, one)).result, threads.result
    ).result
    start = arith.MuliOp(thread.result, chunk).result
    end = arith.MinSIOp(arith.AddiOp(start, chunk).result, trips).result
    return start, end


def _reload_captures(
    constants: list[Operation], private: list[Operation], passed: list[SSAValue]
) -> tuple[Block, dict[SSAValue, SSAValue]]:
    """The outlined function's entry block (its one argument the context array) and the map
    from each captured value to its copy there: constants cloned, passed values loaded from
    their slots, private scratch moved in."""
    entry = Block(arg_types=[llvm.LLVMPointerType()])
    context = entry.args[0]
    mapping: dict[SSAValue, SSAValue] = {}
    for op in constants:
        clone = op.clone()
        entry.add_op(clone)
        mapping[op.results[0]] = clone.results[0]
    for index, value in enumerate(passed):
        slot = _slot(context, index)
        load = llvm.LoadOp(slot, llvm.LLVMPointerType(), alignment=8)
        entry.add_ops([slot, load])
        mapping[value] = load.dereferenced_value
        if value.type == i64:
            as_int = llvm.PtrToIntOp(load.dereferenced_value, i64)
            entry.add_op(as_int)
            mapping[value] = as_int.results[0]
    for op in private:
        op.detach()
        op.operands = [mapping.get(v, v) for v in op.operands]
        entry.add_op(op)
    return entry, mapping


def _move_body(
    loop: scf.ForOp, lower: SSAValue, step: SSAValue, mapping: dict[SSAValue, SSAValue]
) -> Block:
    """The loop's body moved into a block over iteration numbers, its induction variable
    recomputed as lower + n * step and its captured values replaced by their copies."""
    body = Block(arg_types=[i64])
    with ImplicitBuilder(body):
        iteration = arith.AddiOp(lower, arith.MuliOp(body.args[0], step).result)
    mapping[loop.body.block.args[0]] = iteration.result
    for op in list(loop.body.block.ops):
        op.detach()
        body.add_op(op)
    moved = {nested for top in body.ops for nested in top.walk()}
    for old, new in mapping.items():
        for use in list(old.uses):
            if use.operation in moved:
                use.operation.operands[use.index] = new
    for nested in moved:
        nested.attributes.pop(KIND_ATTR, None)
    return body


def _launch(
    loop: scf.ForOp, kernel: llvm.FuncOp, passed: list[SSAValue], name: str, cores: int
) -> None:
    """Replaces the loop by stores of the passed values into a context array on the kernel's
    stack and `GOMP_parallel(@name, context, min(cores, omp_get_max_threads()), 0)`."""
    ptr = llvm.LLVMPointerType()
    kernel_entry = kernel.body.block
    count = llvm.ConstantOp(IntegerAttr(max(1, len(passed)), i64), i64)
    storage = llvm.AllocaOp(count, ptr, 8)
    kernel_entry.insert_ops_before([count, storage], kernel_entry.first_op)  # type: ignore[arg-type]
    calls: list[Operation] = []
    for index, value in enumerate(passed):
        slot = _slot(storage.res, index)
        if value.type == i64:
            as_pointer = llvm.IntToPtrOp(value)
            calls.append(as_pointer)
            value = as_pointer.results[0]
        calls += [slot, llvm.StoreOp(value, slot, alignment=8)]
    function = llvm.AddressOfOp(name, ptr)
    cores_value = llvm.ConstantOp(IntegerAttr(cores, i32), i32)
    allowed = llvm.CallOp("omp_get_max_threads", return_type=i32)
    threads = arith.MinSIOp(cores_value.result, allowed.results[0])
    flags = llvm.ConstantOp(IntegerAttr(0, i32), i32)
    calls += [
        function,
        cores_value,
        allowed,
        threads,
        flags,
        llvm.CallOp("GOMP_parallel", function, storage.res, threads.result, flags),
    ]
    Rewriter.replace_op(loop, calls, [])


def outline(loop: scf.ForOp, kernel: llvm.FuncOp, name: str, cores: int) -> llvm.FuncOp:
    """Replaces a parallel loop by a GOMP_parallel call of a new outlined function (the
    steps of the module docstring)."""
    constants, private, passed = _captures(loop)
    for value in passed:
        _check_capturable(value)
    entry, mapping = _reload_captures(constants, private, passed)
    lower, upper, step = (mapping.get(v, v) for v in (loop.lb, loop.ub, loop.step))
    body = _move_body(loop, lower, step, mapping)
    with ImplicitBuilder(entry):
        start, end = _chunk_bounds(lower, upper, step)
        scf.ForOp(start, end, arith.ConstantOp(IntegerAttr(1, i64)).result, [], Region(body))
        llvm.ReturnOp()
    outlined = llvm.FuncOp(
        name,
        llvm.LLVMFunctionType([llvm.LLVMPointerType()]),
        linkage=llvm.LinkageAttr("internal"),
        body=Region(entry),
    )
    Rewriter.insert_op(outlined, InsertPoint.after(kernel))
    _launch(loop, kernel, passed, name, cores)
    return outlined


def outline_parallel_loops(module: ModuleOp, cores: int) -> int:
    """Outlines every outermost parallel loop of every kernel; returns how many."""
    count = 0
    for kernel in [op for op in module.ops if isinstance(op, llvm.FuncOp) and op.body.blocks]:
        loops = [
            op
            for op in kernel.walk()
            if isinstance(op, scf.ForOp) and op.attributes.get(KIND_ATTR) == StringAttr("parallel")
        ]
        outermost = [
            loop
            for loop in loops
            if not any(other is not loop and other.is_ancestor(loop) for other in loops)
        ]
        for n, loop in enumerate(outermost):
            if count == 0:
                _declare_runtime(module)
            outline(loop, kernel, f"{kernel.sym_name.data}_par{n}", cores)
            count += 1
    return count
