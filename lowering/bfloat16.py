"""bfloat16 in kernels: stored as 16 bits, computed in f32.

LLVM has a `bfloat` type but llvmlite's IR builder does not, and x86 without AVX512_BF16 has
no bfloat16 arithmetic: kernels keep bf16 as i16 bits and compute in f32, as onnxruntime's
CPU kernels do. Run on the target level, before convert-target-to-llvm's patterns:
1. Every arith/math op on bf16 values (scalars or vectors) computes in f32: its bf16
   operands are extended, its bf16 results truncated back (a comparison's operands only).
2. Every bf16 value, buffer and constant is retyped to i16 holding the same bits.
3. The extensions become bit arithmetic (the 16 bits are the top half of the f32), the
   truncations round to nearest even on the f32 bits (the rounding of `vcvtneps2bf16` and
   ml_dtypes); NaN stays a quiet NaN.
"""

from typing import Any

import numpy as np
from xdsl.dialects import arith, memref
from xdsl.dialects.builtin import (
    BFloat16Type,
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    MemRefType,
    TensorType,
    VectorType,
    f32,
    i16,
    i32,
)
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from ziggurat.dialects.target import VectorCmpfOp, VectorSelectOp

KEPT_IN_STORAGE = (arith.ExtFOp, arith.TruncFOp, arith.ConstantOp, arith.SelectOp, arith.BitcastOp)
"""Ops that move bf16 values without computing on them (or are the conversions themselves)."""

QUIET_NAN = 0x7FC0


def _with_element(ty: Attribute, element: Attribute) -> Any:
    """`ty` (a scalar, vector, buffer or tensor type) with `element` as its element type."""
    if isinstance(ty, VectorType):
        return VectorType(element, ty.get_shape())
    if isinstance(ty, MemRefType):
        return MemRefType(element, ty.get_shape(), ty.layout, ty.memory_space)
    if isinstance(ty, TensorType):
        return TensorType(element, ty.get_shape())
    return element


def _element(ty: Attribute) -> Attribute:
    return ty.element_type if isinstance(ty, VectorType | MemRefType | TensorType) else ty


def _is_bf16(ty: Attribute) -> bool:
    return isinstance(_element(ty), BFloat16Type)


def _computes(op: Operation) -> bool:
    return (
        op.name.startswith(("arith.", "math.")) and not isinstance(op, KEPT_IN_STORAGE)
    ) or isinstance(op, VectorCmpfOp)


def _widen(op: Operation) -> None:
    """`op` computed in f32 between an extension of its bf16 operands and a truncation of
    its bf16 results."""
    for index, operand in enumerate(op.operands):
        if _is_bf16(operand.type):
            extend = arith.ExtFOp(operand, _with_element(operand.type, f32))
            Rewriter.insert_op(extend, InsertPoint.before(op))
            op.operands[index] = extend.result
    for result in list(op.results):
        if _is_bf16(result.type):
            narrow_type = result.type
            wide = Rewriter.replace_value_with_new_type(result, _with_element(narrow_type, f32))
            truncate = arith.TruncFOp(wide, narrow_type)
            Rewriter.insert_op(truncate, InsertPoint.after(op))
            others = [use for use in wide.uses if use.operation is not truncate]
            for use in others:
                use.operation.operands[use.index] = truncate.result


def _bits(values: list[float]) -> list[int]:
    """The bfloat16 bits (as signed i16) of each value, rounded to nearest even as the
    kernels round."""
    words = np.array(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = ((words + 0x7FFF + ((words >> 16) & 1)) >> 16).astype(np.uint16)
    rounded[np.isnan(np.array(values, dtype=np.float32))] = QUIET_NAN
    return [int(v) for v in rounded.view(np.int16)]


def _retype_constant(op: Operation) -> None:
    if isinstance(op, arith.ConstantOp):
        value = op.value
        if isinstance(value, FloatAttr) and isinstance(value.type, BFloat16Type):
            Rewriter.replace_op(
                op, arith.ConstantOp(IntegerAttr(_bits([value.value.data])[0], i16))
            )
        elif isinstance(value, DenseIntOrFPElementsAttr) and _is_bf16(value.type):
            bits = _bits(list(value.get_values()))
            storage = _with_element(value.type, i16)
            Rewriter.replace_op(
                op, arith.ConstantOp(DenseIntOrFPElementsAttr.from_list(storage, bits), storage)
            )
    elif isinstance(op, memref.GlobalOp) and _is_bf16(op.type):
        initial = op.initial_value
        assert isinstance(initial, DenseIntOrFPElementsAttr)
        storage = _with_element(initial.type, i16)
        op.properties["initial_value"] = DenseIntOrFPElementsAttr.from_list(
            storage, _bits(list(initial.get_values()))
        )
        op.properties["type"] = _with_element(op.type, i16)


def _retype_values(op: Operation) -> None:
    for result in list(op.results):
        if _is_bf16(result.type):
            Rewriter.replace_value_with_new_type(result, _with_element(result.type, i16))
    for region in op.regions:
        for block in region.blocks:
            for arg in list(block.args):
                if _is_bf16(arg.type):
                    Rewriter.replace_value_with_new_type(arg, _with_element(arg.type, i16))


def _splat(value: int, like: Attribute, element: IntegerType) -> Operation:
    if isinstance(like, VectorType):
        ty = VectorType(element, like.get_shape())
        return arith.ConstantOp(DenseIntOrFPElementsAttr.from_list(ty, [value]), ty)
    return arith.ConstantOp(IntegerAttr(value, element))


def _extension(op: arith.ExtFOp) -> list[Operation]:
    """bf16 bits -> f32: the bits as the f32's top half (then wider, for f64)."""
    bits = op.operands[0]
    ty = bits.type
    wide = arith.ExtUIOp(bits, _with_element(ty, i32))
    sixteen = _splat(16, ty, i32)
    shifted = arith.ShLIOp(wide.result, sixteen.results[0])
    single = arith.BitcastOp(shifted.result, _with_element(ty, f32))
    ops: list[Operation] = [wide, sixteen, shifted, single]
    if _element(op.result.type) != f32:
        ops.append(arith.ExtFOp(single.result, op.result.type))
    return ops


def _truncation(op: arith.TruncFOp) -> list[Operation]:
    """f32 -> bf16 bits, rounding to nearest even: bits + 0x7FFF + (bit 16), top half; NaN
    gives the quiet NaN. A wider source narrows to f32 first."""
    ops: list[Operation] = []
    value: SSAValue = op.operands[0]
    ty = value.type
    if _element(ty) != f32:
        ops.append(arith.TruncFOp(value, _with_element(ty, f32)))
        value = ops[-1].results[0]
    words = _with_element(ty, i32)
    bits = arith.BitcastOp(value, words)
    sixteen, one, bias = (_splat(v, ty, i32) for v in (16, 1, 0x7FFF))
    high = arith.ShRUIOp(bits.result, sixteen.results[0])
    odd = arith.AndIOp(high.result, one.results[0])
    biased = arith.AddiOp(bits.result, bias.results[0])
    rounded = arith.AddiOp(biased.result, odd.result)
    top = arith.ShRUIOp(rounded.result, sixteen.results[0])
    narrow = arith.TruncIOp(top.result, _with_element(ty, i16))
    nan = _splat(QUIET_NAN, ty, i16)
    is_nan: Operation
    picked: Operation
    if isinstance(ty, VectorType):
        is_nan = VectorCmpfOp("uno", value, value)
        picked = VectorSelectOp(is_nan.results[0], nan.results[0], narrow.result)
    else:
        is_nan = arith.CmpfOp(value, value, "uno")
        picked = arith.SelectOp(is_nan.results[0], nan.results[0], narrow.result)
    ops += [bits, sixteen, one, bias, high, odd, biased, rounded, top, narrow, nan]
    return [*ops, is_nan, picked]


def emulate_bfloat16(root: Operation) -> None:
    """Rewrites the bf16 values under `root` as i16 bits computed in f32 (see the module)."""
    for op in list(root.walk()):
        if _computes(op) and any(_is_bf16(v.type) for v in (*op.operands, *op.results)):
            _widen(op)
    for op in list(root.walk()):
        _retype_constant(op)
    for op in list(root.walk()):
        _retype_values(op)
    for op in list(root.walk()):
        if isinstance(op, arith.ExtFOp) and _element(op.operands[0].type) == i16:
            Rewriter.replace_op(op, _extension(op))
        elif isinstance(op, arith.TruncFOp) and _element(op.result.type) == i16:
            Rewriter.replace_op(op, _truncation(op))
