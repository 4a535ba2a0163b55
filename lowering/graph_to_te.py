"""convert-graph-to-te: every graph op becomes a kernel function written in tensor expressions.

Algorithm, for each public func.func (the graph function):
1. Walk its ops in order. Weights stay where they are; graph.constant operands are cloned
   into the kernels that use them (splats are read as scalars, others as small tensors).
2. For any other graph op, build a private kernel `func.func @<tag>_<n>(operands) -> result`
   whose body is the op's strategy (lowering/strategies/) in te ops.
3. A kernel identical to an earlier one (same body, same types) is not added again: the call
   reuses the first, so each distinct kernel is compiled once.
4. Replace the op by a `func.call` of its kernel.
5. Graph outputs that are not results of a call or of an If or Loop (an input or weight
   returned directly) or are returned twice get a copy kernel, so each output has a buffer
   of its own. Ops in the regions of graph.if and graph.loop are lowered the same way, and
   their yielded values get buffers of their own too (lowering/control_to_te.py).

Runs after the graph-level passes; convert-te-to-sched follows.
"""

import io
import math
from dataclasses import dataclass

from xdsl.builder import ImplicitBuilder
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ArrayAttr, FloatAttr, ModuleOp, StringAttr
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.printer import Printer
from xdsl.rewriter import InsertPoint, Rewriter

from ziggurat.core import statistics
from ziggurat.core.errors import CompileError
from ziggurat.dialects import graph
from ziggurat.lowering import strategies
from ziggurat.lowering.control_to_te import (
    erase_unused_constants,
    give_constant_operands_buffers,
    give_yields_own_buffers,
    nested_ops,
)


def graph_functions(module: ModuleOp) -> list[func.FuncOp]:
    """The public functions: the model's graph (kernels are private)."""
    return [
        op
        for op in module.ops
        if isinstance(op, func.FuncOp) and op.sym_visibility is None and op.body.blocks
    ]


def _attribute_key(attribute: Attribute) -> object:
    """`attribute`, with each float's sign beside it: -0.0 == 0.0 as Python floats, but
    kernels reading one or the other differ."""
    if isinstance(attribute, FloatAttr):
        return (attribute, math.copysign(1.0, attribute.value.data))
    if isinstance(attribute, ArrayAttr):
        return tuple(_attribute_key(a) for a in attribute.data)
    return attribute


def _region_key(region: Region, numbers: dict[SSAValue, int], key: list[object]) -> None:
    for block in region.blocks:
        key.append(tuple(arg.type for arg in block.args))
        for arg in block.args:
            numbers[arg] = len(numbers)
        for op in block.ops:
            key.append(
                (
                    op.name,
                    tuple(numbers.get(v, -1 - id(v)) for v in op.operands),
                    tuple(r.type for r in op.results),
                    tuple((k, _attribute_key(a)) for k, a in sorted(op.properties.items())),
                    tuple((k, _attribute_key(a)) for k, a in sorted(op.attributes.items())),
                    len(op.regions),
                )
            )
            for result in op.results:
                numbers[result] = len(numbers)
            for inner in op.regions:
                _region_key(inner, numbers, key)


def _body_key(kernel: func.FuncOp) -> tuple[object, ...]:
    """A kernel's structure without its name, values numbered in order of definition: equal
    keys mean interchangeable kernels (what printing the body would tell, at a fraction of
    the cost)."""
    key: list[object] = [kernel.function_type]
    _region_key(kernel.body, {}, key)
    return tuple(key)


def _op_signature(op: Operation, operands: list[SSAValue]) -> str:
    """Text of a graph op and the constants it reads: equal signatures lower to the same
    kernel, so a repeated op is found before its kernel is built (names printed for its
    values can only make equal ops miss, never join different ones)."""
    stream = io.StringIO()
    printer = Printer(stream=stream, print_generic_format=True)
    constants = dict.fromkeys(v.owner for v in operands if isinstance(v.owner, graph.ConstantOp))
    for constant in constants:
        printer.print_op(constant)
    printer.print_op(op)
    return stream.getvalue()


class KernelTable:
    """The kernels added so far, by name, by body and by the graph op they came from, for
    naming and deduplication."""

    def __init__(self, module: ModuleOp):
        self.module = module
        self.by_key: dict[tuple[object, ...], str] = {}
        self.by_signature: dict[str, str] = {}
        self.names = {op.sym_name.data for op in module.ops if isinstance(op, func.FuncOp)}
        self.counts: dict[str, int] = {}

    def add(self, kernel: func.FuncOp, tag: str, before: Operation) -> str:
        key = _body_key(kernel)
        if key in self.by_key:
            kernel.erase()
            statistics.count("kernels-reused")
            return self.by_key[key]
        statistics.count("kernels-created")
        name = self._fresh_name(tag)
        kernel.sym_name = StringAttr(name)
        Rewriter.insert_op(kernel, InsertPoint.before(before))
        self.by_key[key] = name
        return name

    def _fresh_name(self, tag: str) -> str:
        while True:
            n = self.counts.get(tag, 0)
            self.counts[tag] = n + 1
            name = f"{tag}_{n}"
            if name not in self.names:
                self.names.add(name)
                return name


def _build_kernel(op: Operation, operands: list[SSAValue]) -> func.FuncOp:
    """A private function computing `op` with te. Constant operands are cloned into it
    (strategies read splats as scalars, others as small read-only tensors); the rest become
    its arguments."""
    strategy = strategies.STRATEGIES.get(type(op))
    if strategy is None:
        raise CompileError(f"convert-graph-to-te has no strategy for {op.name}.")
    passed = [v for v in operands if not isinstance(v.owner, graph.ConstantOp)]
    block = Block(arg_types=[v.type for v in passed])
    with ImplicitBuilder(block):
        inside: dict[SSAValue, SSAValue] = dict(zip(passed, block.args, strict=True))
        constants: list[graph.ConstantOp] = []
        for value in operands:
            if value not in inside:
                assert isinstance(value.owner, graph.ConstantOp)
                constants.append(graph.ConstantOp(value.owner.value))
                inside[value] = constants[-1].result
        func.ReturnOp(strategy(op, [inside[v] for v in operands]))
    for inner in list(block.ops):
        if isinstance(inner, graph.ConstantOp) and not inner.result.uses:
            Rewriter.erase_op(inner)
    return func.FuncOp(
        "kernel",
        ([v.type for v in passed], [op.results[0].type]),
        Region(block),
        visibility="private",
    )


def _copy_kernel(value: SSAValue) -> func.FuncOp:
    """A kernel returning a copy of `value`: its argument, or a constant cloned inside."""
    constant = value.owner if isinstance(value.owner, graph.ConstantOp) else None
    block = Block(arg_types=[] if constant else [value.type])
    with ImplicitBuilder(block):
        source = graph.ConstantOp(constant.value).result if constant else block.args[0]
        func.ReturnOp(strategies.copy(graph.tensor_shape(value), source))
    return func.FuncOp(
        "kernel", (block.arg_types, [value.type]), Region(block), visibility="private"
    )


def _copy_call(value: SSAValue, before: Operation, table: KernelTable) -> SSAValue:
    """A call, inserted before `before`, of a kernel copying `value`."""
    args = [] if isinstance(value.owner, graph.ConstantOp) else [value]
    function = before.parent_op()
    while function is not None and not isinstance(function, func.FuncOp):
        function = function.parent_op()
    assert function is not None
    name = table.add(_copy_kernel(value), "copy", function)
    call = func.CallOp(name, args, [value.type])
    Rewriter.insert_op(call, InsertPoint.before(before))
    return call.res[0]


@dataclass(frozen=True)
class ConvertGraphToTe(ModulePass):
    """Lowers each graph op to a private kernel function of te.compute ops, called from the
    graph function; identical kernels are shared."""

    name = "convert-graph-to-te"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        table = KernelTable(op)
        for function in graph_functions(op):
            self._lower_function(function, table)

    def _lower_function(self, function: func.FuncOp, table: KernelTable) -> None:
        for inner in list(nested_ops(function.body.block)):
            if isinstance(inner, graph.WeightOp | func.ReturnOp):
                continue
            if isinstance(inner, graph.ConstantOp):
                continue
            if inner.dialect_name() != "graph":
                continue
            operands = list(inner.operands)
            signature = _op_signature(inner, operands)
            name = table.by_signature.get(signature)
            if name is None:
                kernel = _build_kernel(inner, operands)
                tag = (
                    inner.kind.data
                    if isinstance(inner, graph.FusedOp)
                    else inner.name.split(".", 1)[1]
                )
                name = table.add(kernel, tag, function)
                table.by_signature[signature] = name
            else:
                statistics.count("kernels-reused")
            call_args = [v for v in operands if not isinstance(v.owner, graph.ConstantOp)]
            call = func.CallOp(name, call_args, [inner.results[0].type])
            Rewriter.replace_op(inner, call)
        self._give_outputs_own_buffers(function, table)
        copy_call = lambda value, before: _copy_call(value, before, table)  # noqa: E731
        give_yields_own_buffers(function, copy_call)
        give_constant_operands_buffers(function, copy_call)
        erase_unused_constants(function.body.block)

    def _give_outputs_own_buffers(self, function: func.FuncOp, table: KernelTable) -> None:
        ret = function.body.block.last_op
        assert isinstance(ret, func.ReturnOp)
        seen: set[SSAValue] = set()
        for index, value in enumerate(ret.arguments):
            owner = value.owner
            if isinstance(owner, func.CallOp | graph.IfOp | graph.LoopOp) and value not in seen:
                seen.add(value)
                continue
            args = [] if isinstance(owner, graph.ConstantOp) else [value]
            name = table.add(_copy_kernel(value), "copy", function)
            call = func.CallOp(name, args, [value.type])
            Rewriter.insert_op(call, InsertPoint.before(ret))
            ret.operands = [*ret.operands[:index], call.res[0], *ret.operands[index + 1 :]]
            seen.add(call.res[0])
