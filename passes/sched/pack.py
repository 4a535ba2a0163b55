"""pack: a constant weight stored in the layout its loops want, transposed at build time.

A convolution reading `w[f, c, kh, kw]` with `f` vectorized reads 16 elements C*KH*KW apart;
packed by the permutation (1, 2, 3, 0) it reads `w'[c, kh, kw, f]`, 16 contiguous elements.
Every call of the kernel must pass a weight from the params store (`sched.param`) in that
argument: each gets a packed copy in the store, and the original goes when nothing else
reads it.
"""

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import FunctionType, MemRefType, ModuleOp
from xdsl.ir import SSAValue
from xdsl.rewriter import Rewriter

from ziggurat.context import fresh_param_name
from ziggurat.dialects import sched
from ziggurat.passes.sched.loop_transforms import ScheduleError


def _calls_of(kernel: func.FuncOp) -> list[func.CallOp]:
    module = kernel.parent_op()
    assert isinstance(module, ModuleOp)
    name = kernel.sym_name.data
    return [
        op
        for op in module.walk()
        if isinstance(op, func.CallOp) and op.callee.string_value() == name
    ]


def pack_weight(
    kernel: func.FuncOp,
    argument: int,
    permutation: tuple[int, ...],
    params: dict[str, np.ndarray],
) -> None:
    """Rewrites argument `argument` of `kernel` to the weight transposed by `permutation`."""
    label = f"@{kernel.sym_name.data} argument {argument}"
    args = kernel.body.block.args
    if not 0 <= argument < len(args):
        raise ScheduleError(f"{label} does not exist ({len(args)} arguments).")
    value = args[argument]
    buffer = value.type
    assert isinstance(buffer, MemRefType)
    shape = buffer.get_shape()
    if sorted(permutation) != list(range(len(shape))):
        raise ScheduleError(f"{label}: {permutation} is not a permutation of {len(shape)} axes.")
    calls = _calls_of(kernel)
    sources: list[sched.ParamOp] = []
    for call in calls:
        source = call.arguments[argument].owner
        if not isinstance(source, sched.ParamOp) or source.param_name.data not in params:
            raise ScheduleError(f"{label} is not a weight from the params store at every call.")
        sources.append(source)
    packed_type = MemRefType(buffer.element_type, [shape[p] for p in permutation])
    packed_names: dict[str, str] = {}
    for call, source in zip(calls, sources, strict=True):
        name = source.param_name.data
        if name not in packed_names:
            packed_names[name] = fresh_param_name(params, f"{name}.packed")
            params[packed_names[name]] = np.ascontiguousarray(
                np.transpose(params[name], permutation)
            )
        packed = sched.ParamOp(packed_names[name], packed_type)
        parent = source.parent_block()
        assert parent is not None
        parent.insert_op_after(packed, source)
        call.operands[argument] = packed.result
        if not source.result.uses:
            Rewriter.erase_op(source)
            if not any(
                isinstance(op, sched.ParamOp) and op.param_name.data == name for op in parent.walk()
            ):
                params.pop(name, None)
    _retype_argument(kernel, value, packed_type, permutation)


def _retype_argument(
    kernel: func.FuncOp, value: SSAValue, packed_type: MemRefType, permutation: tuple[int, ...]
) -> None:
    for use in list(value.uses):
        op = use.operation
        if not isinstance(op, sched.LoadOp):
            raise ScheduleError(f"@{kernel.sym_name.data} writes the weight it would pack.")
    position = kernel.body.block.args.index(value)
    value = Rewriter.replace_value_with_new_type(value, packed_type)
    for use in list(value.uses):
        op = use.operation
        assert isinstance(op, sched.LoadOp)
        indices = list(op.indices)
        load = sched.LoadOp(value, [indices[p] for p in permutation])
        parent = op.parent_block()
        assert parent is not None
        parent.insert_op_before(load, op)
        op.result.replace_all_uses_with(load.result)
        Rewriter.erase_op(op)
    inputs = list(kernel.function_type.inputs.data)
    inputs[position] = packed_type
    kernel.function_type = FunctionType.from_lists(inputs, list(kernel.function_type.outputs.data))
