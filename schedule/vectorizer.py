"""The loop vectorizer: an innermost `vectorize` loop as straight-line SIMD code.

A loop of W iterations (step 1) becomes one vector<W x T> computation, one lane per
iteration; LLVM splits vectors longer than a register (vector<64xf32> is 4 zmm). Before:

    sched.for %j = 0 to 16 step 1 vectorize {
      %v = sched.load %x[%i, %j] : memref<4x16xf32>
      %s = sched.load %scale[%i] : memref<4xf32>
      %r = arith.mulf %v, %s : f32
      sched.store %r, %y[%i, %j] : memref<4x16xf32>
    }

After:

    %c0 = arith.constant 0 : index
    %v = vector.load %x[%i, %c0] : memref<4x16xf32>, vector<16xf32>
    %s = sched.load %scale[%i] : memref<4xf32>
    %sv = vector.broadcast %s : f32 to vector<16xf32>
    %r = arith.mulf %v, %sv : vector<16xf32>
    vector.store %r, %y[%i, %c0] : memref<4x16xf32>, vector<16xf32>

Algorithm, per loop, in body order:
1. Values not depending on the induction variable are uniform: computed once, as scalars.
   The induction variable is linear (lane l has lower + l), and so is `addi`/`subi` of a linear
   and a uniform index; its lane-0 value is computed as a scalar. `remui` of a linear index by
   a constant stays linear (and `divui` is uniform) when index_residues proves that no lane
   crosses a multiple of the divisor.
2. A load whose last index is linear and other indices uniform becomes a `vector.load` of W
   contiguous elements; a store likewise a `vector.store` (a uniform value broadcast). A load
   at uniform indices stays scalar.
3. arith and math ops on a vector operand become the same op on vectors, uniform operands
   broadcast (constants become splat vector constants). A float comparison becomes
   `target.vector_cmpf` and a select on its result `target.vector_select` (xDSL 0.74's
   arith.cmpf and arith.select take scalar i1 only).

The loop stays a serial loop (LLVM may still vectorize it) when anything else appears: a
linear index in another dimension, other arithmetic on the induction variable (strides,
casts, a split that may wrap between lanes), a vector stored at uniform indices (a reduction), a buffer both written and accessed
at different indices (a dependence between iterations), nested loops, integer comparisons
with a vector operand, and math functions LLVM lowers to libm calls (tanh, erf, tan, atan),
which take no vectors.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from xdsl.dialects import arith, math, vector
from xdsl.dialects.arith import CMPF_COMPARISON_OPERATIONS
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    VectorType,
    f32,
)
from xdsl.ir import Attribute, Operation, SSAValue

from ziggurat.dialects import sched
from ziggurat.dialects.bf16 import Dot2Op
from ziggurat.dialects.int8 import Dot4Op, VectorCastOp
from ziggurat.dialects.target import VectorCmpfOp, VectorSelectOp
from ziggurat.schedule.index_residues import (
    Residues,
    add_residues,
    constant_index,
    residues,
    scaled_residues,
)

LANEWISE_OPS: tuple[type[Operation], ...] = (
    arith.AddfOp,
    arith.SubfOp,
    arith.MulfOp,
    arith.DivfOp,
    arith.NegfOp,
    arith.MaximumfOp,
    arith.MinimumfOp,
    arith.MaxnumfOp,
    arith.MinnumfOp,
    arith.AddiOp,
    arith.SubiOp,
    arith.MuliOp,
    arith.AndIOp,
    arith.OrIOp,
    arith.XOrIOp,
    arith.MaxSIOp,
    arith.MinSIOp,
    arith.MaxUIOp,
    arith.MinUIOp,
    arith.SelectOp,
    arith.CmpfOp,
    arith.ExtFOp,
    arith.TruncFOp,
    arith.ShLIOp,
    arith.BitcastOp,
    math.ExpOp,
    math.LogOp,
    math.SqrtOp,
    math.AbsFOp,
    math.FloorOp,
    math.CeilOp,
    math.SinOp,
    math.CosOp,
    math.RoundEvenOp,
    math.TruncOp,
    math.PowFOp,
    math.CopySignOp,
    math.FmaOp,
    Dot4Op,
    Dot2Op,
)
"""Ops computed lane by lane on vectors, lowered to LLVM vector instructions or intrinsics.
Integer <-> float conversions are not among them: xDSL's arith.sitofp and arith.fptosi take
scalars only; they become int8.vector_cast (CONVERSIONS)."""

CONVERSIONS: dict[type[Operation], str] = {
    arith.SIToFPOp: "sitofp",
    arith.UIToFPOp: "uitofp",
    arith.FPToSIOp: "fptosi",
    arith.FPToUIOp: "fptoui",
    arith.ExtSIOp: "extsi",
    arith.ExtUIOp: "extui",
    arith.TruncIOp: "trunci",
}
"""Conversions vectorized as int8.vector_cast, between integers and f32 only (bf16 and f16
values are emulated or converted per op by the lowering)."""


class NotVectorizable(Exception):
    """The loop body holds something the pass cannot express with vectors."""


def _index_key(value: SSAValue) -> object:
    """What an index is known to equal: its constant value, or else the SSA value itself."""
    constant = constant_index(value)
    return value if constant is None else constant


def _check_memory(body: list[Operation]) -> dict[SSAValue, int]:
    """Refuses bodies whose iterations may depend on each other through a buffer: every
    access to a written buffer must be at the very same indices (one element per lane).
    Returns the number of accesses to each buffer."""
    accesses: dict[SSAValue, list[tuple[object, ...]]] = {}
    written: set[SSAValue] = set()
    for op in body:
        if isinstance(op, sched.LoadOp | sched.StoreOp):
            accesses.setdefault(op.buffer, []).append(tuple(map(_index_key, op.indices)))
            if isinstance(op, sched.StoreOp):
                written.add(op.buffer)
    for buffer in written:
        keys = accesses[buffer]
        if len(set(keys)) != 1:
            raise NotVectorizable("a written buffer is accessed at different indices")
    return {buffer: len(keys) for buffer, keys in accesses.items()}


@dataclass
class LoopVectorizer:
    """Builds the vector code of one loop; `run` returns its ops or raises NotVectorizable.

    `uniform` maps body values to their scalar copies (op.clone records them there),
    `linear` index values to their lane-0 value (`linear_residues` to the residues it may take),
    `vectors` varying values to their vectors.
    """

    loop: sched.ForOp
    ops: list[Operation] = field(default_factory=list[Operation])
    uniform: dict[SSAValue, SSAValue] = field(default_factory=dict[SSAValue, SSAValue])
    linear: dict[SSAValue, SSAValue] = field(default_factory=dict[SSAValue, SSAValue])
    vectors: dict[SSAValue, SSAValue] = field(default_factory=dict[SSAValue, SSAValue])
    broadcasts: dict[SSAValue, SSAValue] = field(default_factory=dict[SSAValue, SSAValue])
    accesses: dict[SSAValue, int] = field(default_factory=dict[SSAValue, int])
    linear_residues: dict[SSAValue, Callable[[int], Residues]] = field(
        default_factory=dict[SSAValue, Callable[[int], Residues]]
    )

    @property
    def width(self) -> int:
        return self.loop.trip_count

    def run(self) -> list[Operation]:
        loop = self.loop
        if loop.step.data != 1 or self.width < 2:
            raise NotVectorizable("the loop needs step 1 and at least two iterations")
        body = [op for op in loop.body.block.ops if not isinstance(op, sched.YieldOp)]
        self.accesses = _check_memory(body)
        base = self._emit(arith.ConstantOp(IntegerAttr(loop.lower.data, IndexType())))
        lower = loop.lower.data
        self._set_linear(
            loop.induction_var,
            base.results[0],
            lambda m: frozenset({lower % m}) if lower >= 0 else None,
        )
        try:
            for op in body:
                self._vectorize(op)
        except NotVectorizable:
            self.discard()
            raise
        return self.ops

    def discard(self) -> None:
        """Drops the ops built so far, so that the values they used lose those uses."""
        for op in reversed(self.ops):
            op.erase(safe_erase=False)
        self.ops.clear()

    def _emit(self, op: Operation) -> Operation:
        self.ops.append(op)
        return op

    def _vector_type(self, element: Attribute) -> VectorType:
        return VectorType(element, [self.width])

    def _splat(self, value: FloatAttr | IntegerAttr) -> DenseIntOrFPElementsAttr:
        """A vector constant with `value` in every lane (xDSL builds float and integer
        ones apart)."""
        lanes = [self.width]
        if isinstance(value, FloatAttr):
            return DenseIntOrFPElementsAttr.from_list(
                VectorType(value.type, lanes), [value.value.data]
            )
        return DenseIntOrFPElementsAttr.from_list(VectorType(value.type, lanes), [value.value.data])

    def _kind(self, value: SSAValue) -> str:
        if value in self.vectors:
            return "vector"
        return "linear" if value in self.linear else "uniform"

    def _scalar(self, value: SSAValue) -> SSAValue:
        return self.uniform.get(value, value)

    def _as_vector(self, value: SSAValue) -> SSAValue:
        """The vector of a varying value, or a uniform value broadcast to every lane."""
        if value in self.vectors:
            return self.vectors[value]
        scalar = self._scalar(value)
        if scalar not in self.broadcasts:
            owner = scalar.owner
            if isinstance(owner, arith.ConstantOp) and isinstance(
                owner.value, FloatAttr | IntegerAttr
            ):
                new: Operation = arith.ConstantOp(self._splat(owner.value))
            else:
                new = vector.BroadcastOp(scalar, self._vector_type(scalar.type))
            self.broadcasts[scalar] = self._emit(new).results[0]
        return self.broadcasts[scalar]

    def _vectorize(self, op: Operation) -> None:
        if op.regions:
            raise NotVectorizable(f"{op.name} holds a region")
        types = [v.type for v in (*op.operands, *op.results)]
        if any(isinstance(t, VectorType) for t in types):
            raise NotVectorizable(f"{op.name} already works on vectors")
        kinds = [self._kind(v) for v in op.operands]
        if isinstance(op, sched.LoadOp):
            self._load(op, kinds[1:])
        elif isinstance(op, sched.StoreOp):
            self._store(op, kinds[2:])
        elif "linear" in kinds:
            self._linear_index(op, kinds)
        elif op.dialect_name() not in ("arith", "math") and not isinstance(op, LANEWISE_OPS):
            raise NotVectorizable(f"{op.name} is not an arith, math or lane-wise op")
        elif "vector" not in kinds:
            self._emit(op.clone(value_mapper=self.uniform))
        else:
            self._lanewise(op, kinds)

    def _access_indices(self, indices: list[SSAValue], kinds: list[str]) -> list[SSAValue]:
        """Indices of lane 0 of a contiguous access: the last linear, the others uniform."""
        if kinds[-1:] != ["linear"] or any(kind != "uniform" for kind in kinds[:-1]):
            raise NotVectorizable("an access is not contiguous in its last dimension")
        return [*map(self._scalar, indices[:-1]), self.linear[indices[-1]]]

    def _load(self, op: sched.LoadOp, kinds: list[str]) -> None:
        if all(kind == "uniform" for kind in kinds):
            self._emit(op.clone(value_mapper=self.uniform))
            return
        indices = self._access_indices(list(op.indices), kinds)
        load = vector.LoadOp(op.buffer, indices, self._vector_type(op.result.type))
        self.vectors[op.result] = self._emit(load).results[0]

    def _store(self, op: sched.StoreOp, kinds: list[str]) -> None:
        value_kind = self._kind(op.value)
        if all(kind == "uniform" for kind in kinds):
            if value_kind != "uniform":
                raise NotVectorizable("a varying value is stored to one element (a reduction)")
            if self.accesses[op.buffer] != 1:
                raise NotVectorizable("an element written in every iteration is also read")
            self._emit(op.clone(value_mapper=self.uniform))
            return
        if value_kind == "linear":
            raise NotVectorizable("an index value is stored")
        indices = self._access_indices(list(op.indices), kinds)
        self._emit(vector.StoreOp(self._as_vector(op.value), op.buffer, indices))

    def _linear_index(self, op: Operation, kinds: list[str]) -> None:
        """Index arithmetic on a linear value: adding or subtracting a uniform index keeps
        stride 1, and so does `remui` by a constant when every lane falls in one block of it
        (`divui` is then uniform); nothing else does."""
        if len(op.operands) != 2:
            raise NotVectorizable(f"{op.name} of the induction variable is not stride 1")
        lhs, rhs = op.operands
        result = op.results[0]
        if isinstance(op, arith.AddiOp) and sorted(kinds) == ["linear", "uniform"]:
            linear, uniform = (lhs, rhs) if kinds[0] == "linear" else (rhs, lhs)
            new = self._emit(arith.AddiOp(self.linear[linear], self._scalar(uniform)))
            start = self.linear_residues[linear]
            self._set_linear(
                result,
                new.results[0],
                lambda m: add_residues(start(m), residues(uniform, m), m),
            )
        elif isinstance(op, arith.SubiOp) and kinds == ["linear", "uniform"]:
            new = self._emit(arith.SubiOp(self.linear[lhs], self._scalar(rhs)))
            self._set_linear(result, new.results[0], lambda m: None)
        elif isinstance(op, arith.RemUIOp | arith.DivUIOp) and kinds == ["linear", "uniform"]:
            self._split_index(op, lhs, rhs)
        else:
            raise NotVectorizable(f"{op.name} of the induction variable is not stride 1")

    def _set_linear(
        self, value: SSAValue, start: SSAValue, start_residues: Callable[[int], Residues]
    ) -> None:
        self.linear[value] = start
        self.linear_residues[value] = start_residues

    def _split_index(self, op: Operation, linear: SSAValue, divisor: SSAValue) -> None:
        """remui/divui of a linear index by a constant no lane crosses a multiple of."""
        constant = constant_index(divisor)
        start_residues = self.linear_residues[linear]
        known = start_residues(constant) if constant and constant > 0 else None
        if constant is None or not known or max(known) + self.width > constant:
            raise NotVectorizable(f"{op.name} of the induction variable may wrap between lanes")
        start = self.linear[linear]
        if isinstance(op, arith.RemUIOp):
            new = self._emit(arith.RemUIOp(start, self._scalar(divisor)))
            self._set_linear(
                op.results[0],
                new.results[0],
                lambda m: scaled_residues(start_residues, arith.RemUIOp, constant, m),
            )
        else:
            new = self._emit(arith.DivUIOp(start, self._scalar(divisor)))
            self.uniform[op.results[0]] = new.results[0]

    def _lanewise(self, op: Operation, kinds: list[str]) -> None:
        if not isinstance(op, LANEWISE_OPS) and not _vector_conversion(op):
            raise NotVectorizable(f"{op.name} has no vector form here")
        if any(isinstance(v.type, IndexType) for v in (*op.operands, *op.results)):
            raise NotVectorizable(f"{op.name} on index values")
        if type(op) in CONVERSIONS:
            vector_type = self._vector_type(op.results[0].type)
            new: Operation = VectorCastOp(
                CONVERSIONS[type(op)], self._as_vector(op.operands[0]), vector_type
            )
        elif isinstance(op, arith.SelectOp) and kinds[0] == "uniform":
            condition = self._scalar(op.operands[0])
            new = arith.SelectOp(condition, *map(self._as_vector, op.operands[1:]))
        elif isinstance(op, arith.SelectOp):
            new = VectorSelectOp(*map(self._as_vector, op.operands))
        elif isinstance(op, arith.CmpfOp):
            predicate = CMPF_COMPARISON_OPERATIONS[op.predicate.value.data]
            new = VectorCmpfOp(predicate, *map(self._as_vector, op.operands))
        else:
            new = type(op).create(
                operands=[self._as_vector(v) for v in op.operands],
                result_types=[self._vector_type(r.type) for r in op.results],
                properties=dict(op.properties),
                attributes=dict(op.attributes),
            )
        self.vectors.update(zip(op.results, self._emit(new).results, strict=True))


def _vector_conversion(op: Operation) -> bool:
    """Whether `op` is a conversion int8.vector_cast takes: integers and f32 only."""
    if type(op) not in CONVERSIONS:
        return False
    return all(
        isinstance(t, IntegerType) or t == f32 for t in (op.operands[0].type, op.results[0].type)
    )
