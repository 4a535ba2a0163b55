"""What the runtime needs of a model compiled once per distinct input shapes (or values of
shape-deciding inputs): a way to get, for a run's feeds, the static `Module` that runs them.

The compiler's variant-caching module (backend/variants.py) is one; the runtime only knows
this protocol, so it never imports the compiler.
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from ziggurat.runtime.module import Module


@runtime_checkable
class VariantDispatch(Protocol):
    """A model whose runs each go to the static variant made for their feeds."""

    @property
    def input_names(self) -> list[str]: ...

    @property
    def output_names(self) -> list[str]: ...

    def select_variant(self, feeds: Mapping[str, object]) -> tuple["Module", dict[str, np.ndarray]]:
        """The variant for `feeds` (every input, by name) and the feeds it takes: the inputs
        it still reads at run time. Raises RuntimeInputError for feeds the model refuses."""
        ...
