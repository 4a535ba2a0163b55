"""Converters for ONNX If, Loop and Scan: their subgraph attributes become regions of
graph.if, graph.loop and graph.scan.

A subgraph is imported with a context of its own that starts from the enclosing one's
values and constants, so its nodes read outer-scope tensors by name (ONNX forbids
shadowing); its inputs become the region's block arguments, bound by position, and its
outputs the region's graph.yield. An If whose condition is known at import (a constant, or
computed from shapes, which are static) is not a graph.if at all: the chosen branch's nodes
are converted in place, so the graph passes see one straight graph.
"""

from collections.abc import Sequence
from typing import Any

import numpy as np
import onnx
from xdsl.builder import ImplicitBuilder
from xdsl.dialects.builtin import TensorType, i1, i64
from xdsl.ir import Attribute, Block, Region, SSAValue

from ziggurat.dialects import graph
from ziggurat.dialects.graph.control import scan_output_shape
from ziggurat.frontend.onnx.context import ImportContext, node_label, required
from ziggurat.frontend.onnx.registry import OnnxOpConverter, register

SCALAR_I64 = graph.tensor_of((), i64)
SCALAR_I1 = graph.tensor_of((), i1)


def _shown(types: Sequence[Attribute]) -> str:
    return "(" + ", ".join(str(t) for t in types) + ")"


def _convert_nodes(ctx: ImportContext, nodes: Sequence[onnx.NodeProto]) -> None:
    """Converts `nodes` with `ctx`, as the importer converts a graph's nodes."""
    from ziggurat.frontend.onnx import importer  # the importer registers this module

    importer._check_supported(nodes, ctx.opset, set(ctx.constants))
    for index, node in enumerate(nodes):
        for name in node.output:
            ctx.producers.setdefault(name, node_label(node, index))
    for index, node in enumerate(nodes):
        ctx.node_label = f"{node_label(node, index)!r} ({node.op_type})"
        ctx.node_name, ctx.node_op = node_label(node, index), node.op_type
        importer._check_attributes(ctx, node)
        importer._convert_node(ctx, node)


def import_subgraph(
    ctx: ImportContext, body: onnx.GraphProto, arg_types: Sequence[Attribute], what: str
) -> tuple[Region, list[SSAValue]]:
    """The region of subgraph `body` (its inputs bound to block arguments of `arg_types`)
    and the values it yields."""
    for kind, declared in (("input", body.input), ("output", body.output)):
        for value_info in declared:
            value_kind = value_info.type.WhichOneof("value")
            if value_kind not in (None, "tensor_type"):
                raise ctx.unsupported(
                    f"{what} {kind} {value_info.name!r} is not a tensor ({value_kind}); only "
                    "tensors are supported"
                )
    if len(body.input) != len(arg_types):
        raise ctx.error(f"{what} has {len(body.input)} inputs, but needs {len(arg_types)}")
    block = Block(arg_types=arg_types)
    inner = ImportContext(block, ctx.opset)
    inner.values = dict(ctx.values)
    inner.constants = dict(ctx.constants)
    inner.params = ctx.params
    inner.producers = dict(ctx.producers)
    for value_info, arg in zip(body.input, block.args, strict=True):
        inner.values[value_info.name] = arg
        inner.constants.pop(value_info.name, None)
    for tensor in body.initializer:
        inner.constants[tensor.name] = onnx.numpy_helper.to_array(tensor)
    label, name, op = ctx.node_label, ctx.node_name, ctx.node_op
    with ImplicitBuilder(block):
        _convert_nodes(inner, body.node)
        inner.node_label, inner.node_name, inner.node_op = label, name, op
        yielded = [inner.value(o.name) for o in body.output]
        graph.YieldOp(yielded)
    if inner.checks:
        raise ctx.unsupported(f"{what} holds an op that needs a runtime check")
    return Region(block), yielded


def _scalar(array: np.ndarray) -> np.generic:
    return array.reshape(-1)[0]


@register("If")
class If(OnnxOpConverter):
    @classmethod
    def _impl_v1(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        branches = (attrs["then_branch"], attrs["else_branch"])
        if len(branches[0].output) != len(branches[1].output):
            raise ctx.error(
                f"then_branch has {len(branches[0].output)} outputs, else_branch "
                f"{len(branches[1].output)}: both need one per If output"
            )
        known = ctx.constant_input(node, 0)
        if known is not None:
            if known.size != 1:
                raise ctx.error(f"condition has {known.size} elements; it needs one")
            return _inline(ctx, node, branches[0] if bool(_scalar(known)) else branches[1])
        cond = required(ctx, node, 0)
        regions, yielded = [], []
        for what, branch in zip(("then_branch", "else_branch"), branches, strict=True):
            region, values = import_subgraph(ctx, branch, [], what)
            regions.append(region)
            yielded.append([v.type for v in values])
        if yielded[0] != yielded[1]:
            raise ctx.error(
                f"then_branch gives {_shown(yielded[0])} but else_branch {_shown(yielded[1])}: "
                "every value needs one static shape, so the branches must agree (an If whose "
                "condition is known at build time folds instead)"
            )
        return list(graph.IfOp(cond, yielded[0], regions[0], regions[1]).outputs)


def _inline(ctx: ImportContext, node: onnx.NodeProto, branch: onnx.GraphProto) -> list[SSAValue]:
    """The chosen branch of an If with a known condition, converted in the enclosing graph:
    its constant outputs stay constants for the nodes after it."""
    label, name, op = ctx.node_label, ctx.node_name, ctx.node_op
    for tensor in branch.initializer:
        ctx.constants[tensor.name] = onnx.numpy_helper.to_array(tensor)
    _convert_nodes(ctx, branch.node)
    ctx.node_label, ctx.node_name, ctx.node_op = label, name, op
    results = []
    for out, produced in zip(node.output, branch.output, strict=False):
        array = ctx.constant(produced.name)
        if array is not None and out:
            ctx.constants[out] = array
        results.append(ctx.value(produced.name))
    return results


@register("Loop")
class Loop(OnnxOpConverter):
    @classmethod
    def _impl_v1(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        body: onnx.GraphProto = attrs["body"]
        initial = [required(ctx, node, i) for i in range(2, len(node.input))]
        carried = [v.type for v in initial]
        if len(body.input) != 2 + len(initial):
            raise ctx.error(
                f"body has {len(body.input)} inputs, but needs 2 + {len(initial)} (iteration "
                "number, condition, one per loop-carried value)"
            )
        scan_count = len(body.output) - 1 - len(initial)
        if scan_count < 0:
            raise ctx.error(
                f"body has {len(body.output)} outputs, but needs at least 1 + {len(initial)} "
                "(condition, one per loop-carried value)"
            )
        if len(node.output) > len(initial) + scan_count:
            raise ctx.error(
                f"has {len(node.output)} outputs, but its body gives {len(initial)} carried "
                f"values and {scan_count} scan outputs"
            )
        known_cond = ctx.constant_input(node, 1)
        if known_cond is not None and not bool(_scalar(known_cond)) and not scan_count:
            return initial
        known_true = known_cond is not None and bool(_scalar(known_cond))
        cond = None if known_true else ctx.input(node, 1)
        known_count = ctx.constant_input(node, 0)
        count: int | SSAValue | None = ctx.input(node, 0) if known_count is None else None
        if known_count is not None:
            count = max(int(_scalar(known_count)), 0)
        if scan_count and count is None:
            raise ctx.unsupported(
                "its scan outputs need a trip count M (their buffers are [M, ...]), and it has "
                "none: it runs until its condition ends it"
            )
        if scan_count and not isinstance(count, int):
            raise ctx.unsupported(
                "its scan outputs need the trip count M at build time, but here M is only "
                "known at run time: their buffers are [M, ...]; a constant M or one given "
                "as a graph input (a variant compiled per value) works, and loop-carried "
                "values alone work with any runtime M"
            )
        region, yielded = import_subgraph(ctx, body, [SCALAR_I64, SCALAR_I1, *carried], "body")
        if yielded[0].type not in (SCALAR_I1, graph.tensor_of((1,), i1)):
            raise ctx.error(f"body's first output (the condition) is {yielded[0].type}, not a bool")
        changed = [
            f"{n}: {a} -> {v.type}"
            for n, (a, v) in enumerate(zip(carried, yielded[1 : 1 + len(initial)], strict=True))
            if a != v.type
        ]
        if changed:
            raise ctx.error(
                f"loop-carried values change shape or type in the body ({', '.join(changed)}); "
                "every value needs one static shape"
            )
        scans = []
        for element in yielded[1 + len(initial) :]:
            assert isinstance(element.type, TensorType) and isinstance(count, int)
            scans.append(
                graph.tensor_of((count, *graph.tensor_shape(element)), element.type.element_type)
            )
        next_cond = yielded[0].owner
        always = isinstance(next_cond, graph.ConstantOp) and all(next_cond.value.get_values())
        counted = bool(scans) and (cond is not None or not always)
        loop = graph.LoopOp(initial, [*carried, *scans], region, count, cond, counted)
        if counted:
            for scan in loop.scan_outputs:
                ctx.row_counts[scan] = loop.outputs[-1]
        return list(loop.outputs[: len(carried) + len(scans)])


def _normalized(values: Sequence[int], rank: int, what: str, ctx: ImportContext) -> list[int]:
    out = []
    for value in values:
        axis = value + rank if value < 0 else value
        if not 0 <= axis < rank:
            raise ctx.error(f"{what} {value} is out of range for rank {rank}")
        out.append(axis)
    return out


@register("Scan")
class Scan(OnnxOpConverter):
    @classmethod
    def _impl_v9(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        body: onnx.GraphProto = attrs["body"]
        scans = int(attrs["num_scan_inputs"])
        inputs = [required(ctx, node, i) for i in range(len(node.input))]
        states = len(inputs) - scans
        if scans < 1 or states < 0:
            raise ctx.error(f"num_scan_inputs is {scans}, but the node has {len(inputs)} inputs")
        scan_outputs = len(body.output) - states
        if len(body.input) != len(inputs) or scan_outputs < 0:
            raise ctx.error(
                f"body has {len(body.input)} inputs and {len(body.output)} outputs, but needs "
                f"{len(inputs)} inputs ({states} states, {scans} scan slices) and at least "
                f"{states} outputs"
            )
        in_axes = [
            _normalized([axis], len(graph.tensor_shape(value)), "scan_input_axes", ctx)[0]
            for axis, value in zip(
                attrs.get("scan_input_axes", [0] * scans), inputs[states:], strict=False
            )
        ]
        in_dirs = list(attrs.get("scan_input_directions", [0] * scans))
        out_dirs = list(attrs.get("scan_output_directions", [0] * scan_outputs))
        raw_out_axes = list(attrs.get("scan_output_axes", [0] * scan_outputs))
        if len(in_axes) != scans or len(in_dirs) != scans:
            raise ctx.error(
                "scan_input_axes and scan_input_directions need one entry per scan input"
            )
        if len(raw_out_axes) != scan_outputs or len(out_dirs) != scan_outputs:
            raise ctx.error(
                "scan_output_axes and scan_output_directions need one entry per scan output"
            )
        lengths = {graph.tensor_shape(v)[a] for v, a in zip(inputs[states:], in_axes, strict=True)}
        if len(lengths) != 1:
            raise ctx.error(f"scan inputs differ in length along their axes: {sorted(lengths)}")
        slices = []
        for value, axis in zip(inputs[states:], in_axes, strict=True):
            shape = graph.tensor_shape(value)
            slices.append(
                graph.tensor_of((*shape[:axis], *shape[axis + 1 :]), graph.element_type_of(value))
            )
        region, yielded = import_subgraph(
            ctx, body, [*(v.type for v in inputs[:states]), *slices], "body"
        )
        changed = [
            f"{n}: {v.type} -> {y.type}"
            for n, (v, y) in enumerate(zip(inputs[:states], yielded[:states], strict=True))
            if v.type != y.type
        ]
        if changed:
            raise ctx.error(
                f"states change shape or type in the body ({', '.join(changed)}); every value "
                "needs one static shape"
            )
        length = lengths.pop()
        out_types = [v.type for v in inputs[:states]]
        out_axes = []
        for element, axis in zip(yielded[states:], raw_out_axes, strict=True):
            shape = graph.tensor_shape(element)
            out_axes += _normalized([axis], len(shape) + 1, "scan_output_axes", ctx)
            out_types.append(
                graph.tensor_of(
                    scan_output_shape(shape, length, out_axes[-1]), graph.element_type_of(element)
                )
            )
        scan = graph.ScanOp(
            inputs, scans, (in_axes, in_dirs, out_axes, out_dirs), out_types, region
        )
        return list(scan.outputs)
