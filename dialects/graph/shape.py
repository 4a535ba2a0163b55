"""Graph ops that move or select data without computing: reshape, transpose, concat, slice,
broadcast, pad, gather, where."""

import struct
from collections.abc import Sequence

from xdsl.dialects.builtin import (
    DenseArrayBase,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    StringAttr,
    TensorType,
    f32,
    f64,
    i1,
    i64,
)
from xdsl.ir import SSAValue
from xdsl.irdl import (
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_op_definition,
    operand_def,
    prop_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from ziggurat.dialects import shapes
from ziggurat.dialects.graph.base import (
    check_result_shape,
    element_type_of,
    tensor_of,
    tensor_shape,
)


@irdl_op_definition
class ReshapeOp(IRDLOperation):
    """The same elements in row-major order under a new static shape.

    %1 = graph.reshape %0 : tensor<1x1x28x28xf32> -> tensor<1x784xf32>
    """

    name = "graph.reshape"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, operand: SSAValue, shape: Sequence[int]):
        super().__init__(
            operands=[operand], result_types=[tensor_of(shape, element_type_of(operand))]
        )

    def verify_(self) -> None:
        source, target = tensor_shape(self.input), tensor_shape(self.result)
        if shapes.num_elements(source) != shapes.num_elements(target):
            raise VerifyException(
                f"graph.reshape cannot turn {list(source)} ({shapes.num_elements(source)} "
                f"elements) into {list(target)} ({shapes.num_elements(target)} elements)."
            )
        if element_type_of(self.input) != element_type_of(self.result):
            raise VerifyException("graph.reshape must keep the element type.")


@irdl_op_definition
class TransposeOp(IRDLOperation):
    """Permutes dimensions: result dim d is input dim perm[d].

    %1 = graph.transpose %0 {perm = array<i64: 0, 2, 1, 3>} : tensor<1x128x2x64xf32> -> tensor<1x2x128x64xf32>
    """

    name = "graph.transpose"
    input = operand_def(TensorType)
    perm = prop_def(DenseArrayBase.constr(i64))
    result = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, operand: SSAValue, perm: Sequence[int]):
        shape = tensor_shape(operand)
        if sorted(perm) != list(range(len(shape))):
            raise ValueError(f"perm {list(perm)} is not a permutation of the dims of {list(shape)}")
        super().__init__(
            operands=[operand],
            properties={"perm": DenseArrayBase.from_list(i64, list(perm))},
            result_types=[tensor_of([shape[p] for p in perm], element_type_of(operand))],
        )

    @property
    def permutation(self) -> tuple[int, ...]:
        return tuple(self.perm.get_values())

    def verify_(self) -> None:
        shape, perm = tensor_shape(self.input), self.permutation
        if sorted(perm) != list(range(len(shape))):
            raise VerifyException(
                f"graph.transpose perm {list(perm)} is not a permutation of {len(shape)} dims."
            )
        assert isinstance(self.result.type, TensorType)
        check_result_shape(self, [shape[p] for p in perm], self.result.type)


@irdl_op_definition
class ConcatOp(IRDLOperation):
    """Joins tensors along `axis`; the other dims must agree.

    %y = graph.concat %a, %b {axis = 1 : i64} : (tensor<1x64x28x28xf32>, tensor<1x32x28x28xf32>) -> tensor<1x96x28x28xf32>
    """

    name = "graph.concat"
    inputs = var_operand_def(TensorType)
    axis = prop_def(IntegerAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$inputs attr-dict `:` functional-type($inputs, results)"

    def __init__(self, values: Sequence[SSAValue], axis: int):
        shapes_ = [tensor_shape(v) for v in values]
        if not shapes_ or len({len(s) for s in shapes_}) > 1:
            raise ValueError(f"concat needs inputs of one rank, got {[list(s) for s in shapes_]}")
        axis = shapes.normalize_axis(axis, len(shapes_[0]))
        shape = list(shapes_[0])
        shape[axis] = sum(s[axis] for s in shapes_)
        super().__init__(
            operands=[values],
            properties={"axis": IntegerAttr(axis, i64)},
            result_types=[tensor_of(shape, element_type_of(values[0]))],
        )

    def verify_(self) -> None:
        shapes_ = [tensor_shape(v) for v in self.inputs]
        if not shapes_:
            raise VerifyException("graph.concat needs at least one input.")
        axis = self.axis.value.data
        rank = len(shapes_[0])
        if not 0 <= axis < rank:
            raise VerifyException(f"graph.concat axis {axis} is out of range for rank {rank}.")
        for s in shapes_[1:]:
            if len(s) != rank or any(
                a != b for d, (a, b) in enumerate(zip(s, shapes_[0], strict=True)) if d != axis
            ):
                raise VerifyException(
                    f"graph.concat inputs {[list(x) for x in shapes_]} differ outside axis {axis}."
                )
        expected = list(shapes_[0])
        expected[axis] = sum(s[axis] for s in shapes_)
        check_result_shape(self, expected, self.result.type)  # pyright: ignore[reportArgumentType]


@irdl_op_definition
class SliceOp(IRDLOperation):
    """A strided window: out[i0, ..., in] = x[starts[0] + i0 * steps[0], ...], one start and
    step per dim (steps may be negative); the result type gives the extents.

        %y = graph.slice %x {starts = array<i64: 0, 2>, steps = array<i64: 1, 2>} : tensor<4x10xf32> -> tensor<4x3xf32>
    """

    name = "graph.slice"
    input = operand_def(TensorType)
    starts = prop_def(DenseArrayBase.constr(i64))
    steps = prop_def(DenseArrayBase.constr(i64))
    result = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(
        self, x: SSAValue, starts: Sequence[int], steps: Sequence[int], shape: Sequence[int]
    ):
        super().__init__(
            operands=[x],
            properties={
                "starts": DenseArrayBase.from_list(i64, list(starts)),
                "steps": DenseArrayBase.from_list(i64, list(steps)),
            },
            result_types=[tensor_of(shape, element_type_of(x))],
        )

    def verify_(self) -> None:
        shape, out = tensor_shape(self.input), tensor_shape(self.result)
        starts, steps = tuple(self.starts.get_values()), tuple(self.steps.get_values())
        if not len(starts) == len(steps) == len(shape) == len(out):
            raise VerifyException(
                "graph.slice needs one start and step per dim and keeps the rank."
            )
        for d, (start, step, size, extent) in enumerate(
            zip(starts, steps, shape, out, strict=True)
        ):
            last = start + (extent - 1) * step
            if step == 0 or (extent > 0 and not (0 <= start < size and 0 <= last < size)):
                raise VerifyException(
                    f"graph.slice dim {d}: start {start}, step {step}, {extent} elements leave [0, {size})."
                )


@irdl_op_definition
class BroadcastOp(IRDLOperation):
    """numpy broadcasting of the input to the result's shape (ONNX Expand).

    %y = graph.broadcast %x : tensor<3x1xf32> -> tensor<2x3x4xf32>
    """

    name = "graph.broadcast"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, x: SSAValue, shape: Sequence[int]):
        super().__init__(operands=[x], result_types=[tensor_of(shape, element_type_of(x))])

    def verify_(self) -> None:
        source, target = tensor_shape(self.input), tensor_shape(self.result)
        try:
            if shapes.broadcast_shapes(source, target) != target:
                raise ValueError(f"{list(source)} does not broadcast to {list(target)}")
        except ValueError as err:
            raise VerifyException(f"graph.broadcast: {err}.") from err


PAD_MODES = ("constant", "reflect", "edge", "wrap")


def _fits_f32(value: float) -> bool:
    """Whether an f32 holds `value` exactly (NaN counts as held)."""
    try:
        rounded = struct.unpack("f", struct.pack("f", value))[0]
    except OverflowError:
        return False
    return rounded == value or value != value


@irdl_op_definition
class PadOp(IRDLOperation):
    """Pads every dim by pads[d] before and pads[rank + d] after: with `value` (an f32
    attribute, f64 where f32 would round it: an int8 convolution's pad word), or by
    reflecting, repeating the edge, or wrapping around.

        %y = graph.pad %x {pads = array<i64: 0, 1, 0, 1>, mode = "constant", value = 0.0 : f32} : tensor<2x3xf32> -> tensor<2x5xf32>
    """

    name = "graph.pad"
    input = operand_def(TensorType)
    pads = prop_def(DenseArrayBase.constr(i64))
    mode = prop_def(StringAttr)
    value = prop_def(FloatAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, x: SSAValue, pads: Sequence[int], mode: str, value: float):
        shape = tensor_shape(x)
        rank = len(shape)
        if len(pads) != 2 * rank:
            raise ValueError(f"pads {list(pads)} must have {2 * rank} entries for rank {rank}")
        out = [s + pads[d] + pads[rank + d] for d, s in enumerate(shape)]
        super().__init__(
            operands=[x],
            properties={
                "pads": DenseArrayBase.from_list(i64, list(pads)),
                "mode": StringAttr(mode),
                "value": FloatAttr(value, f32 if _fits_f32(value) else f64),
            },
            result_types=[tensor_of(out, element_type_of(x))],
        )

    @property
    def pad_values(self) -> tuple[int, ...]:
        return tuple(self.pads.get_values())

    def verify_(self) -> None:
        shape = tensor_shape(self.input)
        pads = self.pad_values
        if self.mode.data not in PAD_MODES:
            raise VerifyException(
                f"graph.pad mode must be one of {', '.join(PAD_MODES)}, got '{self.mode.data}'."
            )
        if len(pads) != 2 * len(shape) or min(pads, default=0) < 0:
            raise VerifyException(
                f"graph.pad needs {2 * len(shape)} non-negative pads, got {list(pads)}."
            )
        if self.mode.data == "reflect" and any(
            pads[d] >= s or pads[len(shape) + d] >= s
            for d, s in enumerate(shape)
            if pads[d] or pads[len(shape) + d]
        ):
            raise VerifyException("graph.pad reflect pads must be smaller than the dims they pad.")
        expected = [s + pads[d] + pads[len(shape) + d] for d, s in enumerate(shape)]
        check_result_shape(self, expected, self.result.type)  # pyright: ignore[reportArgumentType]


@irdl_op_definition
class GatherOp(IRDLOperation):
    """Takes entries along `axis` at integer indices (negative counts from the end):
    out[a.., i.., b..] = x[a.., indices[i..], b..].

        %y = graph.gather %x, %idx {axis = 0 : i64} : (tensor<5x4xf32>, tensor<2x3xi64>) -> tensor<2x3x4xf32>
    """

    name = "graph.gather"
    input = operand_def(TensorType)
    indices = operand_def(TensorType)
    axis = prop_def(IntegerAttr)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input `,` $indices attr-dict `:` functional-type(operands, results)"

    def __init__(self, x: SSAValue, indices: SSAValue, axis: int):
        shape = tensor_shape(x)
        axis = shapes.normalize_axis(axis, len(shape))
        out = [*shape[:axis], *tensor_shape(indices), *shape[axis + 1 :]]
        super().__init__(
            operands=[x, indices],
            properties={"axis": IntegerAttr(axis, i64)},
            result_types=[tensor_of(out, element_type_of(x))],
        )

    def verify_(self) -> None:
        shape = tensor_shape(self.input)
        axis = self.axis.value.data
        if not 0 <= axis < len(shape):
            raise VerifyException(
                f"graph.gather axis {axis} is out of range for rank {len(shape)}."
            )
        if not isinstance(element_type_of(self.indices), IntegerType):
            raise VerifyException("graph.gather indices must be integers.")
        expected = [*shape[:axis], *tensor_shape(self.indices), *shape[axis + 1 :]]
        check_result_shape(self, expected, self.result.type)  # pyright: ignore[reportArgumentType]


@irdl_op_definition
class WhereOp(IRDLOperation):
    """condition ? x : y elementwise, all three broadcast together.

    %z = graph.where %c, %x, %y : (tensor<2x2xi1>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<2x2xf32>
    """

    name = "graph.where"
    condition = operand_def(TensorType)
    on_true = operand_def(TensorType)
    on_false = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = (
        "$condition `,` $on_true `,` $on_false attr-dict `:` functional-type(operands, results)"
    )

    def __init__(self, condition: SSAValue, x: SSAValue, y: SSAValue):
        shape = shapes.broadcast_shapes(
            shapes.broadcast_shapes(tensor_shape(condition), tensor_shape(x)), tensor_shape(y)
        )
        super().__init__(
            operands=[condition, x, y], result_types=[tensor_of(shape, element_type_of(x))]
        )

    def verify_(self) -> None:
        if element_type_of(self.condition) != i1:
            raise VerifyException("graph.where condition must be a tensor of i1.")
        if element_type_of(self.on_true) != element_type_of(self.on_false):
            raise VerifyException("graph.where branches must have the same element type.")
        try:
            expected = shapes.broadcast_shapes(
                shapes.broadcast_shapes(tensor_shape(self.condition), tensor_shape(self.on_true)),
                tensor_shape(self.on_false),
            )
        except ValueError as err:
            raise VerifyException(f"graph.where: {err}.") from err
        check_result_shape(self, expected, self.result.type)  # pyright: ignore[reportArgumentType]
