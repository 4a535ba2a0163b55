"""sched-expand-math: exp, erf and tanh on f32 as polynomials, so they vectorize.

LLVM turns `llvm.exp` on a vector into one libm call per lane, and erf and tanh are libm
calls outright, so softmax, GELU and sigmoid loops ran a call per element. Here each f32
`math.exp`, `math.erf` and `math.tanh` becomes plain arithmetic that sched-lower-vectorize
turns into vector code:

- exp(x) = 2^n * p(r), n = round(x / ln 2), r = x - n ln 2 (in two parts), p a degree-7
  polynomial (Cephes' expf, about 1 ulp); 2^(n-1) is built in the exponent bits, then
  doubled, so n = 128 stays finite. Below -87.34 (no normal result) exp is 0, above 88.72
  it is +inf, and NaN stays NaN.
- erf(x): for |x| < 0.5 its odd Taylor series to x^11 (relative error < 1e-6); above,
  Abramowitz-Stegun 7.1.26 (absolute error < 1.5e-7), sign restored with copysign.
- tanh(x): for |x| < 0.625 Cephes' odd polynomial; above, 1 - 2 / (exp(2|x|) + 1) with
  the sign restored (relative error about 2e-7).

f64 (and every other type) keeps its libm calls. Runs before the schedules so their
dry runs of the vectorizer see the final loop bodies.
"""

from collections.abc import Callable
from dataclasses import dataclass

from xdsl.builder import ImplicitBuilder
from xdsl.context import Context
from xdsl.dialects import arith, math
from xdsl.dialects.builtin import FloatAttr, IntegerAttr, ModuleOp, f32, i32
from xdsl.ir import Block, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import Rewriter

from ziggurat.core import statistics

EXP_POLYNOMIAL = (
    1.9875691500e-4,
    1.3981999507e-3,
    8.3334519073e-3,
    4.1665795894e-2,
    1.6666665459e-1,
    5.0000001201e-1,
)
ERF_SERIES = (
    1.1283791671,
    -0.3761263890,
    0.1128379167,
    -0.0268661706,
    0.0052239776,
    -0.0008548327,
)
ERF_AS = (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592)
MAGIC = 8388608.0
"""2^23: a float 2^23 + k (0 <= k < 2^23) has the bits MAGIC_BITS + k, an exact float-to-int
conversion of k that needs no fptosi (xDSL 0.74's takes no vectors)."""
MAGIC_BITS = 0x4B000000

TANH_POLYNOMIAL = (
    -5.70498872745e-3,
    2.06390887954e-2,
    -5.37397155531e-2,
    1.33314422036e-1,
    -3.33332819422e-1,
)


def _f(value: float) -> SSAValue:
    return arith.ConstantOp(FloatAttr(value, f32)).result


def _i(value: int) -> SSAValue:
    return arith.ConstantOp(IntegerAttr(value, i32)).result


def _add(a: SSAValue, b: SSAValue) -> SSAValue:
    return arith.AddfOp(a, b).result


def _mul(a: SSAValue, b: SSAValue) -> SSAValue:
    return arith.MulfOp(a, b).result


def _horner(x: SSAValue, coefficients: tuple[float, ...]) -> SSAValue:
    value = _f(coefficients[0])
    for c in coefficients[1:]:
        value = _add(_mul(value, x), _f(c))
    return value


def _exp(x: SSAValue) -> SSAValue:
    low, high = -87.33654475, 88.72283905
    clamped = arith.MinimumfOp(arith.MaximumfOp(x, _f(low)).result, _f(high)).result
    n = math.FloorOp(_add(_mul(clamped, _f(1.44269504088896341)), _f(0.5))).result
    r = arith.SubfOp(clamped, _mul(n, _f(0.693359375))).result
    r = arith.SubfOp(r, _mul(n, _f(-2.12194440e-4))).result
    p = _horner(r, EXP_POLYNOMIAL)
    p = _add(_add(_mul(_mul(p, r), r), r), _f(1.0))
    biased = arith.BitcastOp(_add(n, _f(MAGIC + 126.0)), i32).result
    exponent = arith.SubiOp(biased, _i(MAGIC_BITS)).result
    half_power = arith.BitcastOp(arith.ShLIOp(exponent, _i(23)).result, f32).result
    value = _mul(_mul(p, half_power), _f(2.0))
    underflow = arith.CmpfOp(x, _f(low), "olt").result
    overflow = arith.CmpfOp(x, _f(high), "ogt").result
    value = arith.SelectOp(underflow, _f(0.0), value).result
    return arith.SelectOp(overflow, _f(float("inf")), value).result


def _erf(x: SSAValue) -> SSAValue:
    magnitude = math.AbsFOp(x).result
    square = _mul(x, x)
    series = _mul(x, _horner(square, tuple(reversed(ERF_SERIES))))
    t = arith.DivfOp(_f(1.0), _add(_f(1.0), _mul(magnitude, _f(0.3275911)))).result
    tail = _mul(_mul(_horner(t, ERF_AS), t), _exp(arith.NegfOp(square).result))
    large = math.CopySignOp(arith.SubfOp(_f(1.0), tail).result, x).result
    small = arith.CmpfOp(magnitude, _f(0.5), "olt").result
    return arith.SelectOp(small, series, large).result


def _tanh(x: SSAValue) -> SSAValue:
    magnitude = math.AbsFOp(x).result
    square = _mul(x, x)
    series = _add(x, _mul(_mul(x, square), _horner(square, TANH_POLYNOMIAL)))
    e = _exp(_mul(magnitude, _f(2.0)))
    large = arith.SubfOp(_f(1.0), arith.DivfOp(_f(2.0), _add(e, _f(1.0))).result).result
    small = arith.CmpfOp(magnitude, _f(0.625), "olt").result
    return arith.SelectOp(small, series, math.CopySignOp(large, x).result).result


EXPANSIONS: dict[type[Operation], Callable[[SSAValue], SSAValue]] = {
    math.ExpOp: _exp,
    math.ErfOp: _erf,
    math.TanhOp: _tanh,
}


@dataclass(frozen=True)
class SchedExpandMath(ModulePass):
    """Replaces f32 exp, erf and tanh in kernels by polynomial arithmetic."""

    name = "sched-expand-math"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for inner in list(op.walk()):
            expand = EXPANSIONS.get(type(inner))
            if expand is None or inner.results[0].type != f32:
                continue
            block = Block()
            with ImplicitBuilder(block):
                result = expand(inner.operands[0])
            ops = list(block.ops)
            for new in ops:
                new.detach()
            Rewriter.replace_op(inner, ops, [result])
            statistics.count(f"{inner.name.removeprefix('math.')}-expanded")
