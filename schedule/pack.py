"""pack: a constant weight stored in the layout its loops want, rearranged at build time.

A convolution reading `w[f, c, kh, kw]` with `f` vectorized reads 16 elements C*KH*KW apart;
packed by the permutation (1, 2, 3, 0) it reads `w'[c, kh, kw, f]`, 16 contiguous elements.
With a `split` (dim, factor) the dimension is first cut into panels: `b[k, n]` split (1, 32)
and permuted (1, 0, 2) is `b'[n / 32, k, n % 32]`, so a tile of 32 columns streams one
contiguous panel (BLIS's packed B). Every call of the kernel must pass a weight from the
params store (`sched.param`) in that argument: each gets a packed copy in the store, and
the original goes when nothing else reads it. The kernel side (`retype_argument`) and the
call side (`rebind_calls`) are separate so a schedule can be tried on a detached copy of a
kernel first.
"""

from collections.abc import Iterator, Sequence

import numpy as np
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import FunctionType, IndexType, IntegerAttr, MemRefType, ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from ziggurat.core.context import fresh_param_name
from ziggurat.dialects import sched
from ziggurat.schedule.loop_transforms import ScheduleError

Split = tuple[int, int] | None
"""(dim, factor): cut `dim` into (dim / factor, factor) before permuting; None: no cut."""


def _graph_function_ops(module: ModuleOp) -> Iterator[Operation]:
    """The ops of the graph functions (public), where the calls and params are: walking
    the private kernels too would make scheduling a model quadratic in its kernels."""
    for function in module.ops:
        if isinstance(function, func.FuncOp) and function.sym_visibility is None:
            yield from function.walk()


def calls_of(kernel_name: str, module: ModuleOp) -> list[func.CallOp]:
    return [
        op
        for op in _graph_function_ops(module)
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


def split_shape(shape: Sequence[int], split: Split) -> list[int]:
    if split is None:
        return list(shape)
    dim, factor = split
    return [*shape[:dim], shape[dim] // factor, factor, *shape[dim + 1 :]]


def packed_shape(shape: Sequence[int], permutation: Sequence[int], split: Split) -> list[int]:
    expanded = split_shape(shape, split)
    return [expanded[p] for p in permutation]


def pack_array(array: np.ndarray, permutation: Sequence[int], split: Split) -> np.ndarray:
    """The weight as the packed kernel reads it."""
    expanded = array.reshape(split_shape(array.shape, split))
    return np.ascontiguousarray(np.transpose(expanded, permutation))


def _check(kernel: func.FuncOp, argument: int, permutation: Sequence[int], split: Split) -> None:
    label = f"@{kernel.sym_name.data} argument {argument}"
    args = kernel.body.block.args
    if not 0 <= argument < len(args):
        raise ScheduleError(f"{label} does not exist ({len(args)} arguments).")
    buffer = args[argument].type
    assert isinstance(buffer, MemRefType)
    shape = buffer.get_shape()
    if split is not None:
        dim, factor = split
        if not 0 <= dim < len(shape) or factor < 1 or shape[dim] % factor:
            raise ScheduleError(f"{label}: cannot cut dim {dim} of {list(shape)} by {factor}.")
    rank = len(shape) + (split is not None)
    if sorted(permutation) != list(range(rank)):
        raise ScheduleError(f"{label}: {tuple(permutation)} is not a permutation of {rank} axes.")


def _split_index(index: SSAValue, factor: int, before: Operation) -> list[SSAValue]:
    constant = arith.ConstantOp(IntegerAttr(factor, IndexType()))
    outer = arith.DivUIOp(index, constant.result)
    inner = arith.RemUIOp(index, constant.result)
    Rewriter.insert_op([constant, outer, inner], InsertPoint.before(before))
    return [outer.result, inner.result]


def retype_argument(
    kernel: func.FuncOp, argument: int, permutation: tuple[int, ...], split: Split = None
) -> None:
    """The kernel reads argument `argument` cut by `split` and transposed by `permutation`."""
    _check(kernel, argument, permutation, split)
    value: SSAValue = kernel.body.block.args[argument]
    if not all(isinstance(use.operation, sched.LoadOp) for use in value.uses):
        raise ScheduleError(f"@{kernel.sym_name.data} writes the weight it would pack.")
    buffer = value.type
    assert isinstance(buffer, MemRefType)
    packed_type = MemRefType(
        buffer.element_type, packed_shape(buffer.get_shape(), permutation, split)
    )
    value = Rewriter.replace_value_with_new_type(value, packed_type)
    for use in list(value.uses):
        op = use.operation
        assert isinstance(op, sched.LoadOp)
        indices = list(op.indices)
        if split is not None:
            dim, factor = split
            indices[dim : dim + 1] = _split_index(indices[dim], factor, op)
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
    split: Split = None,
) -> None:
    """Every call of the kernel passes the weight in `argument` packed the same way."""
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
            params[packed_names[name]] = pack_array(params[name], permutation, split)
        buffer = source.result.type
        assert isinstance(buffer, MemRefType)
        packed = sched.ParamOp(
            packed_names[name],
            MemRefType(buffer.element_type, packed_shape(buffer.get_shape(), permutation, split)),
        )
        parent = source.parent_block()
        assert parent is not None
        parent.insert_op_after(packed, source)
        call.operands[argument] = packed.result
        if not source.result.uses:
            Rewriter.erase_op(source)
            if not any(
                isinstance(op, sched.ParamOp) and op.param_name.data == name
                for op in _graph_function_ops(module)
            ):
                params.pop(name, None)


def pack_weight(
    kernel: func.FuncOp,
    argument: int,
    permutation: tuple[int, ...],
    params: dict[str, np.ndarray],
    split: Split = None,
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
    _check(kernel, argument, permutation, split)
    rebind_calls(kernel.sym_name.data, module, argument, permutation, params, split)
    retype_argument(kernel, argument, permutation, split)
