"""Models whose compiled form depends on what each run is given, and how to fix one run's.

Two things keep an ONNX model from compiling once for every run: an input dim with no fixed
size (`dim_param`, PyTorch's dynamic axes) and a graph input whose *value* decides a shape
(a Reshape's shape, Slice's bounds, Pad's pads, Resize's sizes, reduction axes...). Such a
model imports as a `DynamicModel`: the model itself, what each input must look like, and which
inputs decide shapes. Its `signature` (runtime/variant_inputs.py) checks a run's feeds and keys
the compiled variant they need (their shapes, and the values of the shape-deciding inputs), and `specialize` gives that variant's
static model: the shape-deciding inputs bound as initializers and every input shape fixed, so
the importer's folding turns the shape subgraphs into constants and the static pipeline
compiles it (backend/variants.py keeps the variants).
"""

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import onnx
from onnx import numpy_helper

from ziggurat.runtime.variant_inputs import InputSpec, VariantInputs

SHAPE_OPERANDS: dict[str, tuple[int, ...]] = {
    "Reshape": (1,),
    "Slice": (1, 2, 3, 4),
    "Pad": (1, 2, 3),
    "Resize": (1, 2, 3),
    "Expand": (1,),
    "Tile": (1,),
    "Squeeze": (1,),
    "Unsqueeze": (1,),
    "Split": (1,),
    "ReduceSum": (1,),
    "ReduceMean": (1,),
    "ReduceMax": (1,),
    "ReduceMin": (1,),
    "ReduceProd": (1,),
    "ConstantOfShape": (0,),
    "Range": (0, 1, 2),
    "Dropout": (1, 2),
}
"""The operands, by op type, whose values the converters need at import time: a shape, axes,
bounds, pads, sizes, or a mode that decides what the op computes."""

SHAPE_ONLY_OPS = ("Shape", "Size")
"""Ops whose outputs depend on their input's shape alone, which every variant fixes."""


def shape_operands(node: onnx.NodeProto) -> tuple[int, ...]:
    """The operands of `node` that decide its output shapes: SHAPE_OPERANDS', and a Loop's
    trip count M when the Loop has scan outputs (their buffers are [M, ...]; a Loop of
    loop-carried values alone runs any M from one build)."""
    if node.op_type == "Loop":
        body = next((a.g for a in node.attribute if a.name == "body"), None)
        carried = max(len(node.input) - 2, 0)
        return (0,) if body is not None and len(body.output) > 1 + carried else ()
    return SHAPE_OPERANDS.get(node.op_type, ())


def shape_deciding_inputs(nodes: Sequence[onnx.NodeProto], input_names: Iterable[str]) -> list[str]:
    """The graph inputs (of `input_names`, in that order) whose values flow into an operand
    `shape_operands` names, through any ops but the shape-only ones."""
    names = list(input_names)
    producers = {output: node for node in nodes for output in node.output if output}
    pending = [
        node.input[index]
        for node in nodes
        if node.domain in ("", "ai.onnx")
        for index in shape_operands(node)
        if index < len(node.input) and node.input[index]
    ]
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        producer = producers.get(name)
        if producer is not None and producer.op_type not in SHAPE_ONLY_OPS:
            pending.extend(operand for operand in producer.input if operand)
    return [name for name in names if name in seen]


class DynamicModel:
    """An ONNX model to compile once per distinct (input shapes, shape-deciding values): what
    `from_onnx` returns for a model with symbolic input dims or shape-deciding inputs, and
    what `ziggurat.build` turns into a variant-caching module."""

    def __init__(
        self,
        proto: onnx.ModelProto,
        inputs: Sequence[InputSpec],
        shape_inputs: Sequence[str],
    ):
        self.proto = proto
        self.inputs = tuple(inputs)
        self.shape_inputs = tuple(shape_inputs)
        self.output_names = [output.name for output in proto.graph.output]
        self.signature = VariantInputs(self.inputs, self.shape_inputs)
        """Checks feeds and keys their variant (runtime/variant_inputs.py)."""

    @property
    def input_names(self) -> list[str]:
        return self.signature.names

    @property
    def symbolic_inputs(self) -> list[str]:
        return [s.name for s in self.inputs if any(isinstance(d, str) for d in s.dims)]

    def describe(self, feeds: Mapping[str, np.ndarray]) -> str:
        return self.signature.describe(feeds)

    def specialize(
        self, feeds: Mapping[str, np.ndarray]
    ) -> tuple[onnx.ModelProto, dict[str, tuple[int, ...]]]:
        """The static model of checked `feeds`' variant, and the shapes of its inputs: the
        shape-deciding inputs become initializers holding their fed values."""
        proto = onnx.ModelProto()
        proto.CopyFrom(self.proto)
        bound = set(self.shape_inputs)
        kept = [v for v in proto.graph.input if v.name not in bound]
        del proto.graph.input[:]
        proto.graph.input.extend(kept)
        proto.graph.initializer.extend(
            numpy_helper.from_array(feeds[name], name) for name in self.shape_inputs
        )
        shapes = {
            spec.name: tuple(int(d) for d in feeds[spec.name].shape)
            for spec in self.inputs
            if spec.name not in bound
        }
        return proto, shapes

    def __repr__(self) -> str:
        inputs = ", ".join(f"{spec.name}: {spec.describe()}" for spec in self.inputs)
        return f"DynamicModel(inputs=({inputs}), shape_inputs={list(self.shape_inputs)})"
