"""A model compiled per input shapes, loaded from a `.zgt` of declared profiles
(runtime/variant_package.py): each run goes to the variant made for its feeds, and feeds no
variant was made for are one RunError naming the input and what the file holds."""

from collections.abc import Mapping, Sequence

import numpy as np

from ziggurat.runtime.errors import RunError
from ziggurat.runtime.module import Module
from ziggurat.runtime.variant_inputs import VariantInputs, VariantKey


class ProfiledModule:
    """The variants of a version-2 `.zgt`, by key (runtime/dispatch.py's protocol, so
    `GraphModule` runs it). Thread-safe as each variant's `run` is: nothing is compiled."""

    def __init__(
        self,
        signature: VariantInputs,
        outputs: Sequence[str],
        variants: Sequence[tuple[Mapping[str, np.ndarray], Module]],
        target: str,
    ):
        """`variants`: each variant's example feeds (its shapes and shape-deciding values)
        and its module."""
        self.signature = signature
        self.target = target
        self._outputs = list(outputs)
        self._variants: dict[VariantKey, Module] = {}
        self._profiles: list[dict[str, np.ndarray]] = []
        for feeds, module in variants:
            checked = signature.checked_feeds(feeds)
            self._variants[signature.key(checked)] = module
            self._profiles.append(checked)

    @property
    def input_names(self) -> list[str]:
        return self.signature.names

    @property
    def output_names(self) -> list[str]:
        return list(self._outputs)

    @property
    def profiles(self) -> list[str]:
        """Each variant's shapes and shape-deciding values, in words."""
        return [self.signature.describe(feeds) for feeds in self._profiles]

    def select_variant(self, feeds: Mapping[str, object]) -> tuple[Module, dict[str, np.ndarray]]:
        checked = self.signature.checked_feeds(feeds)
        variant = self._variants.get(self.signature.key(checked))
        if variant is None:
            raise RunError(self._outside_profiles(checked))
        return variant, {name: checked[name] for name in variant.input_names}

    def _outside_profiles(self, feeds: Mapping[str, np.ndarray]) -> str:
        """Names the first input whose shape (or value) no variant was made for, with those
        the file holds; else says no variant has this combination."""
        for spec in self.signature.specs:
            given = feeds[spec.name]
            deciding = spec.name in self.signature.shape_inputs
            held = [p[spec.name] for p in self._profiles]
            matches = [
                h.shape == given.shape and (not deciding or np.array_equal(h, given)) for h in held
            ]
            if not any(matches):
                what = "value" if deciding else "shape"
                shown = given.tolist() if deciding else list(given.shape)
                available = sorted({str(h.tolist() if deciding else list(h.shape)) for h in held})
                return (
                    f"input {spec.name!r} has {what} {shown}, for which this package holds no "
                    f"variant; it holds {spec.name} {what}s {', '.join(available)}"
                )
        return (
            f"no variant in this package for {self.signature.describe(feeds)}; it holds "
            + "; ".join(self.profiles)
        )

    def run(
        self, feeds: Mapping[str, object], outputs: Sequence[str | int] | None = None
    ) -> list[np.ndarray]:
        """As `Module.run`: every input by name, new output arrays; thread-safe."""
        variant, variant_feeds = self.select_variant(feeds)
        return variant.run(variant_feeds, outputs)

    def __repr__(self) -> str:
        return f"ProfiledModule(inputs={self.input_names}, profiles={self.profiles})"
