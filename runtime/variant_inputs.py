"""What the inputs of a model compiled per input shapes must look like, and which compiled
variant a run's feeds need: shared by the compiler's variant cache (backend/variants.py) and
the runtime's profiled packages (runtime/profiled_module.py), so both key runs alike.

A variant is decided by every input's shape and by the values of the shape-deciding inputs
(those whose values set a shape, axes, pads... somewhere in the model).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ziggurat.runtime.errors import RuntimeInputError

VariantKey = tuple[object, ...]


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

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype.name, "dims": list(self.dims)}


class VariantInputs:
    """The inputs of a model compiled per variant: `specs` in model order, and the names of
    the shape-deciding ones."""

    def __init__(self, specs: Sequence[InputSpec], shape_inputs: Sequence[str]):
        self.specs = tuple(specs)
        self.shape_inputs = tuple(shape_inputs)
        self._by_name = {spec.name: spec for spec in self.specs}

    @property
    def names(self) -> list[str]:
        return [spec.name for spec in self.specs]

    def checked_feeds(self, feeds: Mapping[str, object]) -> dict[str, np.ndarray]:
        """Every input as an array that fits the model's declaration, or a RuntimeInputError
        naming the input; shape-deciding inputs converted to their declared type."""
        if not isinstance(feeds, Mapping):
            raise RuntimeInputError(f"feeds must map input names to arrays, not {type(feeds)}")
        unknown = [name for name in feeds if name not in self._by_name]
        if unknown:
            raise RuntimeInputError(
                f"the model has no input {unknown[0]!r}; its inputs are "
                + ", ".join(repr(name) for name in self._by_name)
            )
        missing = [name for name in self._by_name if name not in feeds]
        if missing:
            raise RuntimeInputError(f"feeds lack input {', '.join(map(repr, missing))}")
        checked = {name: self._by_name[name].check(value) for name, value in feeds.items()}
        for name in self.shape_inputs:
            checked[name] = _shape_value(self._by_name[name], checked[name])
        return checked

    def key(self, feeds: Mapping[str, np.ndarray]) -> VariantKey:
        """What decides the compiled code for checked `feeds`: every input's shape and the
        shape-deciding inputs' values."""
        shapes = tuple(tuple(int(d) for d in feeds[spec.name].shape) for spec in self.specs)
        return shapes + tuple(feeds[name].tobytes() for name in self.shape_inputs)

    def describe(self, feeds: Mapping[str, np.ndarray]) -> str:
        """The variant of checked `feeds` in words, for messages."""
        parts = [f"{spec.name}: shape {list(feeds[spec.name].shape)}" for spec in self.specs]
        parts += [f"{name} = {feeds[name].tolist()}" for name in self.shape_inputs]
        return ", ".join(parts)


def _shape_value(spec: InputSpec, array: np.ndarray) -> np.ndarray:
    """A shape-deciding input's value in its declared type: any integer type holding the same
    numbers converts, anything else is refused."""
    integers = array.dtype.kind in "iu" and spec.dtype.kind in "iu"
    same_kind = array.dtype.kind == spec.dtype.kind or integers
    if array.dtype != spec.dtype and not (
        same_kind and np.array_equal(array.astype(spec.dtype), array)
    ):
        raise RuntimeInputError(
            f"input {spec.name!r} expects dtype {spec.dtype}, got {array.dtype}"
        )
    return np.ascontiguousarray(array, dtype=spec.dtype)
