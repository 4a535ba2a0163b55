"""A module cut into compile units: one module per kernel (with the constant globals it
reads) and one for the entry. Kernels are at the target level, or still at the sched level
after the schedules (each unit then lowers its own kernel to the target level). Each unit
lowers, optimizes and compiles alone, so units compile in parallel and each distinct
kernel's code is cached by its own text; the loader (MCJIT or the linker) joins their object
code again.
"""

from xdsl.dialects import llvm, memref
from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.ir import Operation

from ziggurat.dialects import target
from ziggurat.lowering.sched_to_target import is_sched_kernel

ENTRY_UNIT = "__entry__"


def _is_kernel(op: Operation) -> bool:
    return isinstance(op, target.KernelOp) or is_sched_kernel(op)


def _kernel_name(op: Operation) -> str:
    name = op.properties["sym_name"]
    assert isinstance(name, StringAttr), op
    return name.data


def unit_names(module: ModuleOp) -> list[str]:
    """Each kernel's name, then ENTRY_UNIT if the module has an entry."""
    names = [_kernel_name(op) for op in module.ops if _is_kernel(op)]
    if any(isinstance(op, target.EntryOp) for op in module.ops):
        names.append(ENTRY_UNIT)
    return names


def _globals_read(kernel: Operation) -> set[str]:
    return {
        op.name_.root_reference.data for op in kernel.walk() if isinstance(op, memref.GetGlobalOp)
    }


def make_unit(module: ModuleOp, name: str, take: bool = False) -> ModuleOp:
    """The unit `name` as a module of its own with `module`'s attributes. With `take` the ops
    are moved out of `module` (which is then left partial), else they are cloned."""
    if name == ENTRY_UNIT:
        chosen: list[Operation] = [op for op in module.ops if isinstance(op, target.EntryOp)]
    else:
        kernel = next(op for op in module.ops if _is_kernel(op) and _kernel_name(op) == name)
        wanted = _globals_read(kernel)
        chosen = [
            op
            for op in module.ops
            if isinstance(op, memref.GlobalOp) and op.sym_name.data in wanted
        ]
        chosen.append(kernel)
    if take:
        for op in chosen:
            op.detach()
    ops = chosen if take else [op.clone() for op in chosen]
    if name == ENTRY_UNIT:
        ops = [*_kernel_declarations(ops), *ops]
    unit = ModuleOp(ops)
    unit.attributes.update(module.attributes)
    return unit


def _kernel_declarations(entries: list[Operation]) -> list[llvm.FuncOp]:
    """External declarations of the kernels the entry launches: they are defined in the
    other units' object code."""
    ptr = llvm.LLVMPointerType()
    launched: dict[str, int] = {}
    for entry in entries:
        for op in entry.walk():
            if isinstance(op, target.LaunchOp):
                launched[op.callee.string_value()] = len(op.args)
    return [
        llvm.FuncOp(
            name, llvm.LLVMFunctionType([ptr] * arity), linkage=llvm.LinkageAttr("external")
        )
        for name, arity in launched.items()
    ]
