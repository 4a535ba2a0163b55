"""Models whose compiled form depends on what each run is given, and how to fix one run's.

Two things keep an ONNX model from compiling once for every run: an input dim with no fixed
size (`dim_param`, PyTorch's dynamic axes) and a graph input whose *value* decides a shape
(a Reshape's shape, Slice's bounds, Pad's pads, Resize's sizes, reduction axes...). Such a
model imports as a `DynamicModel`: the model itself, what each input must look like, and which
inputs decide shapes. Its `variant_key` says which compiled variant a run's feeds need (their
shapes, and the values of the shape-deciding inputs), and `specialize` gives that variant's
static model: the shape-deciding inputs bound as initializers and every input shape fixed, so
the importer's folding turns the shape subgraphs into constants and the static pipeline
compiles it (backend/variants.py keeps the variants).
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import numpy_helper

from ziggurat.runtime.errors import RuntimeInputError

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


@dataclass(frozen=True)
class InputSpec:
    """One graph input: its element type and dims, each a fixed size or a symbol's name."""

    name: str
    dtype: np.dtype
    dims: tuple[int | str, ...]

    def describe(self) -> str:
        return f"{self.dtype}[{', '.join(str(d) for d in self.dims)}]"

    def check(self, value: object) -> np.ndarray:
        """`value` as an array of this input's rank and fixed dims, or a RuntimeInputError."""
        array = np.asarray(value)
        fits = array.ndim == len(self.dims) and all(
            isinstance(d, str) or d == size for d, size in zip(self.dims, array.shape, strict=False)
        )
        if not fits:
            raise RuntimeInputError(
                f"input {self.name!r} has shape {list(array.shape)}, but the model declares "
                f"{self.describe()}"
            )
        return array


def shape_deciding_inputs(nodes: Sequence[onnx.NodeProto], input_names: Iterable[str]) -> list[str]:
    """The graph inputs (of `input_names`, in that order) whose values flow into an operand of
    SHAPE_OPERANDS, through any ops but the shape-only ones."""
    names = list(input_names)
    producers = {output: node for node in nodes for output in node.output if output}
    pending = [
        node.input[index]
        for node in nodes
        if node.domain in ("", "ai.onnx")
        for index in SHAPE_OPERANDS.get(node.op_type, ())
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
        self._specs = {spec.name: spec for spec in self.inputs}

    @property
    def input_names(self) -> list[str]:
        return [spec.name for spec in self.inputs]

    @property
    def symbolic_inputs(self) -> list[str]:
        return [s.name for s in self.inputs if any(isinstance(d, str) for d in s.dims)]

    def checked_feeds(self, feeds: Mapping[str, object]) -> dict[str, np.ndarray]:
        """Every input as an array that fits the model's declaration, or a RuntimeInputError
        naming the input; shape-deciding inputs converted to their declared type."""
        if not isinstance(feeds, Mapping):
            raise RuntimeInputError(f"feeds must map input names to arrays, not {type(feeds)}")
        unknown = [name for name in feeds if name not in self._specs]
        if unknown:
            raise RuntimeInputError(
                f"the model has no input {unknown[0]!r}; its inputs are "
                + ", ".join(repr(name) for name in self._specs)
            )
        missing = [name for name in self._specs if name not in feeds]
        if missing:
            raise RuntimeInputError(f"feeds lack input {', '.join(map(repr, missing))}")
        checked = {name: self._specs[name].check(value) for name, value in feeds.items()}
        for name in self.shape_inputs:
            checked[name] = self._shape_value(self._specs[name], checked[name])
        return checked

    @staticmethod
    def _shape_value(spec: InputSpec, array: np.ndarray) -> np.ndarray:
        same_kind = array.dtype.kind == spec.dtype.kind or (
            array.dtype.kind in "iu" and spec.dtype.kind in "iu"
        )
        if array.dtype != spec.dtype and not (
            same_kind and np.array_equal(array.astype(spec.dtype), array)
        ):
            raise RuntimeInputError(
                f"input {spec.name!r} expects dtype {spec.dtype}, got {array.dtype}"
            )
        return np.ascontiguousarray(array, dtype=spec.dtype)

    def variant_key(self, feeds: Mapping[str, np.ndarray]) -> tuple[object, ...]:
        """What decides the compiled code for checked `feeds`: every input's shape and the
        shape-deciding inputs' values."""
        shapes = tuple(feeds[spec.name].shape for spec in self.inputs)
        values = tuple(feeds[name].tobytes() for name in self.shape_inputs)
        return shapes + values

    def describe(self, feeds: Mapping[str, np.ndarray]) -> str:
        """The variant of checked `feeds` in words, for messages."""
        parts = [f"{spec.name}: shape {list(feeds[spec.name].shape)}" for spec in self.inputs]
        parts += [f"{name} = {feeds[name].tolist()}" for name in self.shape_inputs]
        return ", ".join(parts)

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
