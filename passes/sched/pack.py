"""pack: a constant weight stored in the layout its loops want, transposed at build time.

A convolution reading `w[f, c, kh, kw]` with `f` vectorized reads 16 elements C*KH*KW apart;
packed by the permutation (1, 2, 3, 0) it reads `w'[c, kh, kw, f]`, 16 contiguous elements.
Every call of the kernel must pass a weight from the params store (`sched.param`) in that
argument: each gets a packed copy in the store, and the original goes when nothing else
reads it. The kernel side (`retype_argument`) and the call side (`rebind_calls`) are
separate so a schedule can be tried on a detached copy of a kernel first.
"""

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import FunctionType, MemRefType, ModuleOp
from xdsl.rewriter import Rewriter

from ziggurat.context import fresh_param_name
from ziggurat.dialects import sched
from ziggurat.passes.sched.loop_transforms import ScheduleError


def calls_of(kernel_name: str, module: ModuleOp) -> list[func.CallOp]:
    return [
        op
        for op in module.walk()
        if isinstance(op, func.CallOp) and op.callee.string_value() == kernel_name
    ]


def packable_arguments(
    kernel: func.FuncOp, module: ModuleOp, params: dict[str, np.ndarray]
) -> set[int]:
    """Arguments the kernel only reads and every call binds to a weight in the params store."""
    calls = calls_of(kernel.sym_name.data, module)
    found: set[int] = set()
    for n, value in enumerate(kernel.body.block.args):
        if not calls or not all(isinstance(use.operation, sched.LoadOp) for use in value.uses):
            continue
        sources = [call.arguments[n].owner for call in calls]
        if all(isinstance(s, sched.ParamOp) and s.param_name.data in params for s in sources):
            found.add(n)
    return found


def _check_permutation(kernel: func.FuncOp, argument: int, permutation: tuple[int, ...]) -> None:
    label = f"@{kernel.sym_name.data} argument {argument}"
    args = kernel.body.block.args
    if not 0 <= argument < len(args):
        raise ScheduleError(f"{label} does not exist ({len(args)} arguments).")
    buffer = args[argument].type
    assert isinstance(buffer, MemRefType)
    if sorted(permutation) != list(range(buffer.get_num_dims())):
        raise ScheduleError(
            f"{label}: {permutation} is not a permutation of {buffer.get_num_dims()} axes."
        )


def retype_argument(kernel: func.FuncOp, argument: int, permutation: tuple[int, ...]) -> None:
    """The kernel reads argument `argument` transposed by `permutation`."""
    _check_permutation(kernel, argument, permutation)
    value = kernel.body.block.args[argument]
    if not all(isinstance(use.operation, sched.LoadOp) for use in value.uses):
        raise ScheduleError(f"@{kernel.sym_name.data} writes the weight it would pack.")
    buffer = value.type
    assert isinstance(buffer, MemRefType)
    shape = buffer.get_shape()
    packed_type = MemRefType(buffer.element_type, [shape[p] for p in permutation])
    value = Rewriter.replace_value_with_new_type(value, packed_type)
    for use in list(value.uses):
        op = use.operation
        assert isinstance(op, sched.LoadOp)
        indices = list(op.indices)
        load = sched.LoadOp(value, [indices[p] for p in permutation])
        load.attributes.update(op.attributes)
        Rewriter.replace_op(op, load)
    inputs = list(kernel.function_type.inputs.data)
    inputs[argument] = packed_type
    kernel.function_type = FunctionType.from_lists(inputs, list(kernel.function_type.outputs.data))


def rebind_calls(
    kernel_name: str,
    module: ModuleOp,
    argument: int,
    permutation: tuple[int, ...],
    params: dict[str, np.ndarray],
) -> None:
    """Every call of the kernel passes the weight in `argument` packed by `permutation`."""
    packed_names: dict[str, str] = {}
    for call in calls_of(kernel_name, module):
        source = call.arguments[argument].owner
        if not isinstance(source, sched.ParamOp) or source.param_name.data not in params:
            raise ScheduleError(
                f"@{kernel_name} argument {argument} is not a weight from the params store "
                "at every call."
            )
        name = source.param_name.data
        if name not in packed_names:
            packed_names[name] = fresh_param_name(params, f"{name}.packed")
            params[packed_names[name]] = np.ascontiguousarray(
                np.transpose(params[name], permutation)
            )
        packed_name = packed_names[name]
        buffer = source.result.type
        assert isinstance(buffer, MemRefType)
        shape = buffer.get_shape()
        packed = sched.ParamOp(
            packed_name, MemRefType(buffer.element_type, [shape[p] for p in permutation])
        )
        parent = source.parent_block()
        assert parent is not None
        parent.insert_op_after(packed, source)
        call.operands[argument] = packed.result
        if not source.result.uses:
            Rewriter.erase_op(source)
            if not any(
                isinstance(op, sched.ParamOp) and op.param_name.data == name for op in module.walk()
            ):
                params.pop(name, None)


def pack_weight(
    kernel: func.FuncOp, argument: int, permutation: tuple[int, ...], params: dict[str, np.ndarray]
) -> None:
    """Packs argument `argument` of an attached kernel: its calls and its loads."""
    module = kernel.parent_op()
    if not isinstance(module, ModuleOp):
        raise ScheduleError(f"@{kernel.sym_name.data} is not in a module; cannot pack its calls.")
    if argument not in packable_arguments(kernel, module, params):
        raise ScheduleError(
            f"@{kernel.sym_name.data} argument {argument} is not a weight from the params "
            "store at every call."
        )
    _check_permutation(kernel, argument, permutation)
    rebind_calls(kernel.sym_name.data, module, argument, permutation, params)
    retype_argument(kernel, argument, permutation)
