"""Structured control flow on value tensors: ONNX If, Loop and Scan with their subgraphs as
regions. Regions are not isolated: a branch or body reads any value of the enclosing
function by name (ONNX's outer scope). Every value keeps a static shape, so both branches of
an If yield the same types, and a Loop's carried values keep theirs from one iteration to
the next.

    %r = graph.if %c : tensor<i1> -> tensor<4xf32> {
      ...
      graph.yield %a : tensor<4xf32>
    } else {
      graph.yield %b : tensor<4xf32>
    }
"""

from collections.abc import Sequence

from xdsl.dialects.builtin import (
    ArrayAttr,
    IntegerAttr,
    TensorType,
    UnitAttr,
    i1,
    i64,
)
from xdsl.ir import Attribute, Block, Region, SSAValue
from xdsl.irdl import (
    AttrSizedOperandSegments,
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    prop_def,
    region_def,
    var_operand_def,
    var_result_def,
)
from xdsl.utils.exceptions import VerifyException

from ziggurat.dialects.graph.base import YieldOp, element_type_of, tensor_of, tensor_shape

SCALAR_SHAPES = ((), (1,))
"""Shapes a condition or trip count may have: one element."""


def _types(values: Sequence[SSAValue]) -> list[Attribute]:
    return [v.type for v in values]


def _shown(types: Sequence[Attribute]) -> str:
    return "(" + ", ".join(str(t) for t in types) + ")"


def _check_scalar(op: IRDLOperation, value: SSAValue, element: Attribute, what: str) -> None:
    kind = value.type
    if (
        not isinstance(kind, TensorType)
        or kind.element_type != element
        or tuple(kind.get_shape()) not in SCALAR_SHAPES
    ):
        raise VerifyException(
            f"{op.name} {what} must be a one-element {element} tensor, got {kind}."
        )


def yield_of(block: Block, op: IRDLOperation) -> YieldOp:
    last = block.last_op
    if not isinstance(last, YieldOp):
        raise VerifyException(f"{op.name} regions must end with graph.yield.")
    return last


@irdl_op_definition
class IfOp(IRDLOperation):
    """Runs one of two regions by a boolean, and gives the values that region yields. Both
    regions take no arguments and yield the op's result types (static shapes: branches of
    different shapes are refused at import)."""

    name = "graph.if"
    cond = operand_def(TensorType)
    outputs = var_result_def(TensorType)
    then_region = region_def("single_block")
    else_region = region_def("single_block")
    assembly_format = (
        "$cond attr-dict `:` type($cond) `->` `(` type($outputs) `)` $then_region `else` "
        "$else_region"
    )

    def __init__(
        self,
        cond: SSAValue,
        result_types: Sequence[Attribute],
        then_body: Region,
        else_body: Region,
    ):
        super().__init__(
            operands=[cond], result_types=[result_types], regions=[then_body, else_body]
        )

    def verify_(self) -> None:
        _check_scalar(self, self.cond, i1, "condition")
        expected = _types(self.outputs)
        for which, region in (("then", self.then_region), ("else", self.else_region)):
            block = region.block
            if block.args:
                raise VerifyException(f"graph.if {which} region takes no arguments.")
            yielded = _types(yield_of(block, self).values)
            if yielded != expected:
                raise VerifyException(
                    f"graph.if {which} region yields {_shown(yielded)}, but the op gives "
                    f"{_shown(expected)}."
                )


@irdl_op_definition
class LoopOp(IRDLOperation):
    """ONNX Loop: `for (i = 0; i < M && cond; ++i) v = body(i, cond, v)`, M and cond each
    optional. The body's block arguments are (iteration number: i64, condition: i1, carried
    values...); it yields (condition, carried values..., scan elements...). The results are
    the final carried values, then each scan element stacked over the iterations on a new
    axis 0, which needs M known at build time (`trip_count`): the body may end the loop early
    by yielding false, and the rows past the last iteration are then zero; with `counted`,
    one more result (i64) says how many iterations ran.

    M is `trip_count` when known at build time, else the `max_trip_count` operand; the first
    condition is the `cond` operand, true when absent."""

    name = "graph.loop"
    max_trip_count = opt_operand_def(TensorType)
    cond = opt_operand_def(TensorType)
    initial = var_operand_def(TensorType)
    trip_count = opt_prop_def(IntegerAttr)
    counted = opt_prop_def(UnitAttr)
    outputs = var_result_def(TensorType)
    body = region_def("single_block")
    irdl_options = (AttrSizedOperandSegments(as_property=True),)

    def __init__(
        self,
        initial: Sequence[SSAValue],
        result_types: Sequence[Attribute],
        body: Region,
        trip_count: int | SSAValue | None = None,
        cond: SSAValue | None = None,
        counted: bool = False,
    ):
        runtime_count = trip_count if isinstance(trip_count, SSAValue) else None
        properties: dict[str, Attribute] = {}
        if isinstance(trip_count, int):
            properties["trip_count"] = IntegerAttr(trip_count, i64)
        if counted:
            properties["counted"] = UnitAttr()
            result_types = [*result_types, tensor_of((), i64)]
        super().__init__(
            operands=[
                [runtime_count] if runtime_count else [],
                [cond] if cond else [],
                initial,
            ],
            result_types=[result_types],
            regions=[body],
            properties=properties,
        )

    @property
    def scan_count(self) -> int:
        return len(self.outputs) - len(self.initial) - (self.counted is not None)

    @property
    def scan_outputs(self) -> Sequence[SSAValue]:
        return self.outputs[len(self.initial) : len(self.initial) + self.scan_count]

    def verify_(self) -> None:
        if self.max_trip_count is not None:
            if self.trip_count is not None:
                raise VerifyException("graph.loop has both a constant and a runtime trip count.")
            _check_scalar(self, self.max_trip_count, i64, "trip count")
        if self.cond is not None:
            _check_scalar(self, self.cond, i1, "condition")
        carried = _types(self.initial)
        block = self.body.block
        args = _types(block.args)
        if len(args) != 2 + len(carried):
            raise VerifyException(
                f"graph.loop body takes {len(args)} arguments, but needs 2 + {len(carried)} "
                "(iteration number, condition, carried values)."
            )
        _check_scalar(self, block.args[0], i64, "iteration number")
        _check_scalar(self, block.args[1], i1, "body condition")
        if args[2:] != carried:
            raise VerifyException(
                f"graph.loop body arguments {_shown(args[2:])} must match the carried values "
                f"{_shown(carried)}."
            )
        values = yield_of(block, self).values
        yielded_results = len(self.initial) + self.scan_count
        if len(values) != 1 + yielded_results:
            raise VerifyException(
                f"graph.loop body yields {len(values)} values, but needs 1 + {yielded_results} "
                "(condition, carried values, scan elements)."
            )
        if self.counted is not None and self.outputs[-1].type != tensor_of((), i64):
            raise VerifyException("graph.loop's last result counts iterations: tensor<i64>.")
        _check_scalar(self, values[0], i1, "yielded condition")
        yielded = _types(values[1:])
        if yielded[: len(carried)] != carried or _types(self.outputs)[: len(carried)] != carried:
            raise VerifyException(
                f"graph.loop carried values {_shown(carried)} change type in the body "
                f"({_shown(yielded[: len(carried)])}) or the results."
            )
        if self.scan_count and self.trip_count is None:
            raise VerifyException("graph.loop scan outputs need a trip count known at build time.")
        for element, result in zip(values[1 + len(carried) :], self.scan_outputs, strict=True):
            assert self.trip_count is not None
            expected = tensor_of(
                (self.trip_count.value.data, *tensor_shape(element)),
                element_type_of(element),
            )
            if result.type != expected:
                raise VerifyException(
                    f"graph.loop scan output is {result.type}, but stacking the body's "
                    f"{element.type} over the trip count gives {expected}."
                )


def scan_output_shape(element: Sequence[int], length: int, axis: int) -> tuple[int, ...]:
    """The shape of a scan output stacking `length` elements along `axis`."""
    return (*element[:axis], length, *element[axis:])


@irdl_op_definition
class ScanOp(IRDLOperation):
    """ONNX Scan (opset 9 on): operands are the initial states, then the scan inputs; the
    body's arguments are the states and one slice of each scan input (the scan axis
    removed), and it yields the next states and one element of each scan output. Results:
    the final states, then the scan outputs. Axes are non-negative; directions are 0
    (forward, or append for outputs) or 1 (reverse, or prepend)."""

    name = "graph.scan"
    inputs = var_operand_def(TensorType)
    num_scan_inputs = prop_def(IntegerAttr)
    scan_input_axes = prop_def(ArrayAttr[IntegerAttr])
    scan_input_directions = prop_def(ArrayAttr[IntegerAttr])
    scan_output_axes = prop_def(ArrayAttr[IntegerAttr])
    scan_output_directions = prop_def(ArrayAttr[IntegerAttr])
    outputs = var_result_def(TensorType)
    body = region_def("single_block")

    def __init__(
        self,
        inputs: Sequence[SSAValue],
        num_scan_inputs: int,
        axes: tuple[Sequence[int], Sequence[int], Sequence[int], Sequence[int]],
        result_types: Sequence[Attribute],
        body: Region,
    ):
        names = (
            "scan_input_axes",
            "scan_input_directions",
            "scan_output_axes",
            "scan_output_directions",
        )
        properties: dict[str, Attribute] = {
            name: ArrayAttr([IntegerAttr(v, i64) for v in values])
            for name, values in zip(names, axes, strict=True)
        }
        properties["num_scan_inputs"] = IntegerAttr(num_scan_inputs, i64)
        super().__init__(
            operands=[inputs], result_types=[result_types], regions=[body], properties=properties
        )

    @staticmethod
    def _ints(attr: ArrayAttr[IntegerAttr]) -> list[int]:
        return [a.value.data for a in attr.data]

    @property
    def state_count(self) -> int:
        return len(self.inputs) - self.num_scan_inputs.value.data

    @property
    def length(self) -> int:
        """The number of iterations: the scan inputs' extent along their axes."""
        first = self.inputs[self.state_count]
        return tensor_shape(first)[self._ints(self.scan_input_axes)[0]]

    def axes(self) -> tuple[list[int], list[int], list[int], list[int]]:
        return (
            self._ints(self.scan_input_axes),
            self._ints(self.scan_input_directions),
            self._ints(self.scan_output_axes),
            self._ints(self.scan_output_directions),
        )

    def verify_(self) -> None:
        states = self.state_count
        scans = self.num_scan_inputs.value.data
        if scans < 1 or states < 0:
            raise VerifyException("graph.scan needs at least one scan input.")
        in_axes, in_dirs, out_axes, out_dirs = self.axes()
        scan_outputs = len(self.outputs) - states
        if len(in_axes) != scans or len(in_dirs) != scans:
            raise VerifyException("graph.scan needs one input axis and direction per scan input.")
        if len(out_axes) != scan_outputs or len(out_dirs) != scan_outputs:
            raise VerifyException("graph.scan needs one output axis and direction per scan output.")
        if any(d not in (0, 1) for d in (*in_dirs, *out_dirs)):
            raise VerifyException("graph.scan directions must be 0 or 1.")
        block = self.body.block
        slices: list[Attribute] = []
        lengths: set[int] = set()
        for value, axis in zip(self.inputs[states:], in_axes, strict=True):
            shape = tensor_shape(value)
            if not 0 <= axis < len(shape):
                raise VerifyException(
                    f"graph.scan input axis {axis} is out of range for {value.type}."
                )
            lengths.add(shape[axis])
            slices.append(
                tensor_of(
                    (*shape[:axis], *shape[axis + 1 :]),
                    element_type_of(value),
                )
            )
        if len(lengths) != 1:
            raise VerifyException(
                f"graph.scan inputs have different lengths along their axes: {sorted(lengths)}."
            )
        expected_args = [*_types(self.inputs[:states]), *slices]
        if _types(block.args) != expected_args:
            raise VerifyException(
                f"graph.scan body takes {_shown(_types(block.args))}, but needs the states and "
                f"one slice of each scan input {_shown(expected_args)}."
            )
        values = yield_of(block, self).values
        if len(values) != len(self.outputs):
            raise VerifyException(
                f"graph.scan body yields {len(values)} values, but the op has "
                f"{len(self.outputs)} results."
            )
        if _types(values[:states]) != _types(self.inputs[:states]) or _types(
            self.outputs[:states]
        ) != _types(self.inputs[:states]):
            raise VerifyException("graph.scan states must keep their types.")
        length = lengths.pop()
        for element, result, axis in zip(
            values[states:], self.outputs[states:], out_axes, strict=True
        ):
            shape = tensor_shape(element)
            if not 0 <= axis <= len(shape):
                raise VerifyException(f"graph.scan output axis {axis} is out of range.")
            expected = tensor_of(
                scan_output_shape(shape, length, axis),
                element_type_of(element),
            )
            if result.type != expected:
                raise VerifyException(
                    f"graph.scan output is {result.type}, but stacking {element.type} gives "
                    f"{expected}."
                )
