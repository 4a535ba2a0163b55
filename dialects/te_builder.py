"""Build te IR from Python callables, the way TVM's `te.compute(shape, lambda i, j: ...)` does.

Strategies call these inside an `ImplicitBuilder`, so every op they create lands in the block
being built; the index arguments handed to a body callable are the compute's block arguments.
"""

from collections.abc import Callable, Sequence

import numpy as np
from xdsl.builder import ImplicitBuilder
from xdsl.dialects import arith, llvm, math
from xdsl.dialects.builtin import (
    AnyFloat,
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    TensorType,
    bf16,
    f32,
    f64,
    i1,
    i64,
)
from xdsl.ir import Attribute, Block, Region, SSAValue

from ziggurat.dialects import graph, te

Indices = Sequence[SSAValue]
Body = Callable[[Indices], SSAValue]

REDUCE_IDENTITY = {"sum": 0.0, "prod": 1.0, "max": -np.inf, "min": np.inf}


def compute(
    shape: Sequence[int], body: Body, element_type: Attribute | None = None, tag: str | None = None
) -> SSAValue:
    """A te.compute of the given shape whose element at `idx` is `body(idx)`; the element
    type is the body's unless given."""
    block = Block(arg_types=[IndexType()] * len(shape))
    with ImplicitBuilder(block) as indices:
        value = body(indices)
        te.YieldOp(value)
    element = value.type if element_type is None else element_type
    return te.ComputeOp(TensorType(element, list(shape)), Region(block), tag).result


def reduce(kind: str, extents: Sequence[int], body: Body, init: SSAValue | None = None) -> SSAValue:
    """A te.reduce of `body(k)` over the index space `extents`, from `init` or the identity
    of `kind` for the body's element type."""
    block = Block(arg_types=[IndexType()] * len(extents))
    with ImplicitBuilder(block) as indices:
        value = body(indices)
        te.YieldOp(value)
    if init is None:
        init = const_scalar(reduce_identity(kind, value.type), value.type)
    return te.ReduceOp(kind, extents, init, Region(block)).result


def reduce_identity(kind: str, element_type: Attribute) -> float | int:
    """The start of a `kind` reduction: for integers the extremes of the type stand in for
    the infinities."""
    if isinstance(element_type, AnyFloat):
        return REDUCE_IDENTITY[kind]
    assert isinstance(element_type, IntegerType)
    family = "uint" if graph.is_unsigned(element_type) else "int"
    limits = np.iinfo(f"{family}{element_type.width.data}")
    return {"sum": 0, "prod": 1, "max": int(limits.min), "min": int(limits.max)}[kind]


def splat_value(tensor: SSAValue) -> float | int | None:
    """The single value of a splat graph.constant, which te reads as a scalar constant (an
    integer stays an int: int64 values past 2**53 do not survive a float)."""
    owner = tensor.owner
    if not isinstance(owner, graph.ConstantOp):
        return None
    values = owner.value.get_values()
    if len(values) == 0 or any(v != values[0] for v in values):
        return None
    return values[0]


def read(tensor: SSAValue, indices: Indices) -> SSAValue:
    """tensor[indices]; a splat constant folds to an arith.constant."""
    value = splat_value(tensor)
    if value is not None:
        assert isinstance(tensor.type, TensorType)
        return const_scalar(value, tensor.type.element_type)
    return te.ReadOp(tensor, indices).result


def const_scalar(value: float | int, element_type: Attribute) -> SSAValue:
    """A constant of any element type: float, or integer (bool as i1)."""
    if isinstance(element_type, AnyFloat):
        return const_float(value, element_type)
    assert isinstance(element_type, IntegerType | IndexType)
    if graph.is_unsigned(element_type):
        # arith.constant takes signless integers only: the same bits, reinterpreted
        assert isinstance(element_type, IntegerType)
        width = element_type.width.data
        bits = int(value) - (1 << width) if int(value) >= 1 << (width - 1) else int(value)
        signless = arith.ConstantOp(IntegerAttr(bits, IntegerType(width))).result
        return arith.BitcastOp(signless, element_type).result
    return arith.ConstantOp(IntegerAttr(int(value), element_type)).result


def read_broadcast(tensor: SSAValue, out_indices: Indices) -> SSAValue:
    """tensor read at the numpy-broadcast position of an output index (right-aligned dims,
    size-1 dims pinned to 0)."""
    shape = graph.tensor_shape(tensor)
    offset = len(out_indices) - len(shape)
    indices = [
        const_index(0) if dim == 1 else out_indices[offset + d] for d, dim in enumerate(shape)
    ]
    return read(tensor, indices)


def const_float(value: float, element_type: Attribute = f32) -> SSAValue:
    assert isinstance(element_type, AnyFloat)
    return arith.ConstantOp(FloatAttr(value, element_type)).result


def const_index(value: int) -> SSAValue:
    return arith.ConstantOp(IntegerAttr(value, IndexType())).result


def dense_splat(value: float, element_type: Attribute = f32) -> DenseIntOrFPElementsAttr:
    return graph.dense_tensor(element_type, [], [value])


def _float_or_int(float_op: type, int_op: type) -> Callable[[SSAValue, SSAValue], SSAValue]:
    """A binary scalar op that picks the float or the (signed) integer arith op by type."""

    def build(a: SSAValue, b: SSAValue) -> SSAValue:
        op = float_op if isinstance(a.type, AnyFloat) else int_op
        return op(a, b).result

    return build


add = _float_or_int(arith.AddfOp, arith.AddiOp)
sub = _float_or_int(arith.SubfOp, arith.SubiOp)
mul = _float_or_int(arith.MulfOp, arith.MuliOp)


def div(a: SSAValue, b: SSAValue) -> SSAValue:
    """a / b; for integers the quotient truncates toward zero (C's, as onnxruntime's) and never
    traps: x / 0 is 0 and MIN / -1 wraps to MIN, since LLVM's sdiv is undefined there and
    x86's idiv raises SIGFPE. (onnxruntime refuses a zero divisor with an error; so does a
    model imported from ONNX, through a check of the divisor the importer adds, which the
    runtime reads after the run: the kernel's own value for x / 0 is never returned there.)"""
    if isinstance(a.type, AnyFloat):
        return arith.DivfOp(a, b).result
    if graph.is_unsigned(a.type):
        return _unsigned_quotient_or_remainder(a, b, arith.DivUIOp, zero_gives_a=False)
    zero, minus_one = const_scalar(0, a.type), const_scalar(-1, a.type)
    by_zero = arith.CmpiOp(b, zero, "eq").result
    by_minus_one = arith.CmpiOp(b, minus_one, "eq").result
    trapping = arith.OrIOp(by_zero, by_minus_one).result
    safe_divisor = select(trapping, const_scalar(1, a.type), b)
    quotient = arith.DivSIOp(a, safe_divisor).result
    negated = arith.SubiOp(zero, a).result
    return select(by_zero, zero, select(by_minus_one, negated, quotient))


def remainder(a: SSAValue, b: SSAValue, truncated: bool) -> SSAValue:
    """The remainder of a / b with the sign of b or, `truncated`, of a. Integers never trap
    (see div): a mod 0 is a, a mod -1 is 0. Floats follow C's fmod (LLVM's frem) or, not
    `truncated`, numpy's np.mod: a remainder of sign other than b's gets b added (so that
    -3 mod inf is inf) and a zero one takes b's sign."""
    if isinstance(a.type, AnyFloat):
        return _float_remainder(a, b, truncated)
    if graph.is_unsigned(a.type):
        return _unsigned_quotient_or_remainder(a, b, arith.RemUIOp, zero_gives_a=True)
    zero, minus_one = const_scalar(0, a.type), const_scalar(-1, a.type)
    by_zero = arith.CmpiOp(b, zero, "eq").result
    by_minus_one = arith.CmpiOp(b, minus_one, "eq").result
    safe_divisor = select(arith.OrIOp(by_zero, by_minus_one).result, const_scalar(1, a.type), b)
    rest: SSAValue = arith.RemSIOp(a, safe_divisor).result
    if not truncated:
        signs_differ = arith.XOrIOp(
            arith.CmpiOp(rest, zero, "slt").result, arith.CmpiOp(b, zero, "slt").result
        ).result
        corrects = arith.AndIOp(arith.CmpiOp(rest, zero, "ne").result, signs_differ).result
        rest = select(corrects, arith.AddiOp(rest, b).result, rest)
    return select(by_zero, a, rest)


def _unsigned_quotient_or_remainder(
    a: SSAValue, b: SSAValue, op: type[arith.DivUIOp | arith.RemUIOp], zero_gives_a: bool
) -> SSAValue:
    """a / b or a mod b on unsigned integers, never trapping: a zero divisor gives 0 (the
    quotient) or a (the remainder)."""
    zero = const_scalar(0, a.type)
    by_zero = arith.CmpiOp(b, zero, "eq").result
    result = op(a, select(by_zero, const_scalar(1, a.type), b)).result
    return select(by_zero, a if zero_gives_a else zero, result)


def _float_signed_or_unsigned(
    float_op: type, signed_op: type, unsigned_op: type
) -> Callable[[SSAValue, SSAValue], SSAValue]:
    """A binary scalar op that picks the float, signed or unsigned arith op by type."""

    def build(a: SSAValue, b: SSAValue) -> SSAValue:
        if isinstance(a.type, AnyFloat):
            return float_op(a, b).result
        return (unsigned_op if graph.is_unsigned(a.type) else signed_op)(a, b).result

    return build


maximum = _float_signed_or_unsigned(arith.MaximumfOp, arith.MaxSIOp, arith.MaxUIOp)
minimum = _float_signed_or_unsigned(arith.MinimumfOp, arith.MinSIOp, arith.MinUIOp)


def round_even(a: SSAValue) -> SSAValue:
    """a rounded to the nearest integer, halves to even."""
    return math.RoundEvenOp(a).result


def _float_remainder(a: SSAValue, b: SSAValue, truncated: bool) -> SSAValue:
    """xDSL's arith has no remf, so C's fmod is LLVM's frem itself, which the lowering to
    LLVM passes through untouched."""
    rest: SSAValue = llvm.FRemOp(a, b).res
    if truncated:
        return rest
    zero = const_scalar(0, a.type)
    signs_differ = arith.XOrIOp(
        arith.CmpfOp(rest, zero, "olt").result, arith.CmpfOp(b, zero, "olt").result
    ).result
    corrects = arith.AndIOp(arith.CmpfOp(rest, zero, "une").result, signs_differ).result
    rest = select(corrects, arith.AddfOp(rest, b).result, rest)
    is_zero = arith.CmpfOp(rest, zero, "oeq").result
    return select(is_zero, math.CopySignOp(zero, b).result, rest)


def exp(a: SSAValue) -> SSAValue:
    return math.ExpOp(a).result


def neg(a: SSAValue) -> SSAValue:
    """-a; an integer MIN wraps to MIN."""
    if isinstance(a.type, AnyFloat):
        return arith.NegfOp(a).result
    return arith.SubiOp(const_scalar(0, a.type), a).result


def sqrt(a: SSAValue) -> SSAValue:
    return math.SqrtOp(a).result


def log(a: SSAValue) -> SSAValue:
    return math.LogOp(a).result


def tanh(a: SSAValue) -> SSAValue:
    return math.TanhOp(a).result


def erf(a: SSAValue) -> SSAValue:
    return math.ErfOp(a).result


def pow(a: SSAValue, b: SSAValue) -> SSAValue:
    """a ** b with the type of a. Floats of one type use the pow of that type; an exponent
    of another type, or integers, are computed in f64 as onnxruntime's std::pow does, then
    converted to a's type. An integer result truncates toward zero; one out of the type's
    range or NaN (0 ** -1, 10 ** 30) is the type's MIN, as x86's conversion in onnxruntime's
    static_cast gives."""
    if a.type == b.type and isinstance(a.type, AnyFloat):
        return math.PowFOp(a, b).result
    wide = math.PowFOp(cast(a, f64), cast(b, f64)).result
    if isinstance(a.type, AnyFloat):
        return cast(wide, a.type)
    assert isinstance(a.type, IntegerType)
    limit = float(2 ** (a.type.width.data - 1))
    in_range = arith.AndIOp(
        arith.CmpfOp(wide, const_scalar(-limit, f64), "oge").result,
        arith.CmpfOp(wide, const_scalar(limit, f64), "olt").result,
    ).result
    return select(in_range, cast(wide, a.type), const_scalar(-int(limit), a.type))


def sigmoid(a: SSAValue) -> SSAValue:
    one = const_float(1.0)
    return div(one, add(one, exp(neg(a))))


def gelu(a: SSAValue, approximate: str = "none") -> SSAValue:
    """x * Phi(x): exact with erf, or the tanh approximation."""
    half = mul(const_float(0.5), a)
    if approximate == "tanh":
        cubic = mul(const_float(0.044715), mul(a, mul(a, a)))
        inner = mul(const_float(0.7978845608028654), add(a, cubic))
        return mul(half, add(const_float(1.0), tanh(inner)))
    return mul(half, add(const_float(1.0), erf(mul(a, const_float(0.7071067811865476)))))


def index_mul_add(index: SSAValue, scale: int, offset: SSAValue) -> SSAValue:
    """index * scale + offset, on index values."""
    scaled = index if scale == 1 else arith.MuliOp(index, const_index(scale)).result
    return arith.AddiOp(scaled, offset).result


def linearize(indices: Indices, shape: Sequence[int]) -> SSAValue:
    """The row-major offset of `indices` in `shape`."""
    if not indices:
        return const_index(0)
    flat = indices[0]
    for index, dim in zip(indices[1:], shape[1:], strict=True):
        flat = arith.AddiOp(arith.MuliOp(flat, const_index(dim)).result, index).result
    return flat


def delinearize(flat: SSAValue, shape: Sequence[int]) -> list[SSAValue]:
    """The row-major indices in `shape` of offset `flat`."""
    indices: list[SSAValue] = []
    for dim in reversed(shape):
        if dim == 1:
            indices.append(const_index(0))
            continue
        size = const_index(dim)
        indices.append(arith.RemUIOp(flat, size).result)
        flat = arith.DivUIOp(flat, size).result
    return indices[::-1]


def index_add(a: SSAValue, b: SSAValue) -> SSAValue:
    return arith.AddiOp(a, b).result


def index_sub(a: SSAValue, b: SSAValue) -> SSAValue:
    return arith.SubiOp(a, b).result


def index_mul(a: SSAValue, factor: int) -> SSAValue:
    return a if factor == 1 else arith.MuliOp(a, const_index(factor)).result


def index_div(a: SSAValue, divisor: int) -> SSAValue:
    return a if divisor == 1 else arith.DivUIOp(a, const_index(divisor)).result


def less(a: SSAValue, b: SSAValue) -> SSAValue:
    """a < b for floats (ordered: false when either is NaN)."""
    return arith.CmpfOp(a, b, "olt").result


def is_nan(a: SSAValue) -> SSAValue:
    return arith.CmpfOp(a, a, "uno").result


def select(condition: SSAValue, if_true: SSAValue, if_false: SSAValue) -> SSAValue:
    return arith.SelectOp(condition, if_true, if_false).result


def in_range(index: SSAValue, size: int) -> SSAValue:
    """0 <= index < size, on signed index values."""
    low = arith.CmpiOp(index, const_index(0), "sge").result
    high = arith.CmpiOp(index, const_index(size), "slt").result
    return arith.AndIOp(low, high).result


def clamp_index(index: SSAValue, size: int) -> SSAValue:
    """index clamped into [0, size)."""
    low = arith.MaxSIOp(index, const_index(0)).result
    return arith.MinSIOp(low, const_index(size - 1)).result


def read_or(
    tensor: SSAValue, indices: Indices, fallback: float, checked: Sequence[bool]
) -> SSAValue:
    """tensor[indices], or `fallback` where a checked index falls outside the tensor: the
    read itself is clamped in bounds, the value then selected."""
    shape = graph.tensor_shape(tensor)
    condition: SSAValue | None = None
    safe: list[SSAValue] = []
    for index, size, check in zip(indices, shape, checked, strict=True):
        if not check:
            safe.append(index)
            continue
        inside = in_range(index, size)
        condition = inside if condition is None else arith.AndIOp(condition, inside).result
        safe.append(clamp_index(index, size))
    value = read(tensor, safe)
    if condition is None:
        return value
    assert isinstance(tensor.type, TensorType)
    return select(condition, value, const_scalar(fallback, tensor.type.element_type))


def and_(a: SSAValue, b: SSAValue) -> SSAValue:
    return arith.AndIOp(a, b).result


def to_index(value: SSAValue) -> SSAValue:
    """An integer scalar as an index value."""
    return arith.IndexCastOp(value, IndexType()).result


def to_i64(index: SSAValue) -> SSAValue:
    """An index value as an i64 scalar."""
    return arith.IndexCastOp(index, i64).result


def index_less(a: SSAValue, b: SSAValue) -> SSAValue:
    return arith.CmpiOp(a, b, "slt").result


def index_rem(a: SSAValue, b: SSAValue) -> SSAValue:
    return arith.RemSIOp(a, b).result


def equal(a: SSAValue, b: SSAValue) -> SSAValue:
    """a == b for floats (ordered) or integers, as i1."""
    if isinstance(a.type, AnyFloat):
        return arith.CmpfOp(a, b, "oeq").result
    return arith.CmpiOp(a, b, "eq").result


def cast(value: SSAValue, target: Attribute) -> SSAValue:
    """value converted to `target`: float widths, float <-> integer, integer widths, and to
    i1 as value != 0."""
    source = value.type
    if source == target:
        return value
    if target == i1:
        zero = const_scalar(0, source)
        if isinstance(source, AnyFloat):
            return arith.CmpfOp(value, zero, "une").result
        return arith.CmpiOp(value, zero, "ne").result
    if isinstance(source, AnyFloat) and isinstance(target, AnyFloat):
        if f32 not in (source, target) and (
            {source.bitwidth, target.bitwidth} == {16, 64} or bf16 in (source, target)
        ):
            # LLVM would call a runtime helper for f64<->f16; bf16 converts only to and
            # from f32 (lowering/bfloat16.py)
            return cast(cast(value, f32), target)
        widen = source.bitwidth < target.bitwidth
        return (arith.ExtFOp if widen else arith.TruncFOp)(value, target).result
    if isinstance(source, AnyFloat):
        assert isinstance(target, IntegerType)
        to_integer = arith.FPToUIOp if graph.is_unsigned(target) else arith.FPToSIOp
        return to_integer(value, target).result
    zero_extends = source == i1 or graph.is_unsigned(source)
    if isinstance(target, AnyFloat):
        return (arith.UIToFPOp if zero_extends else arith.SIToFPOp)(value, target).result
    assert isinstance(source, IntegerType) and isinstance(target, IntegerType)
    if source.width.data < target.width.data:
        return (arith.ExtUIOp if zero_extends else arith.ExtSIOp)(value, target).result
    if source.width.data == target.width.data:
        return arith.BitcastOp(value, target).result
    return arith.TruncIOp(value, target).result


def index_equal(a: SSAValue, b: SSAValue) -> SSAValue:
    return arith.CmpiOp(a, b, "eq").result


def index_div_signed(a: SSAValue, b: SSAValue) -> SSAValue:
    return arith.DivSIOp(a, b).result
