"""A model compiled once per distinct input shapes and shape-deciding values: specialization
with a cache of variants (TensorRT's profiles, onnxruntime's free-dimension overrides).

`ziggurat.build` of a `DynamicModel` (a model with symbolic input dims or inputs that decide
shapes) returns a `VariantModule`. Each run keys its feeds by their shapes and the values of
the shape-deciding inputs; a known key runs its variant, a new one specializes the model
(binds those values, fixes the shapes: the importer folds the shape subgraphs), builds it with
the static pipeline (whose code cache makes a variant seen in an earlier process cheap) and
keeps it. The cache is bounded: least recently used variants go first.
"""

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ziggurat.backend.compile import build
from ziggurat.core.errors import CompileError, ZigguratError
from ziggurat.core.targets import as_target, target_string
from ziggurat.dialects.target import CpuTargetAttr
from ziggurat.frontend.onnx.dynamic import DynamicModel
from ziggurat.frontend.onnx.importer import from_onnx
from ziggurat.runtime import Module
from ziggurat.runtime.package import Package
from ziggurat.runtime.variant_package import PackagedVariant, write_variant_package

MAX_VARIANTS_ENV = "ZIGGURAT_MAX_VARIANTS"
DEFAULT_MAX_VARIANTS = 16


def max_variants_from_env() -> int:
    """The bound on cached variants: $ZIGGURAT_MAX_VARIANTS, else 16."""
    text = os.environ.get(MAX_VARIANTS_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_VARIANTS
    try:
        bound = int(text)
    except ValueError:
        bound = 0
    if bound < 1:
        raise CompileError(f"{MAX_VARIANTS_ENV}={text!r} must be a positive whole number")
    return bound


@dataclass(frozen=True)
class VariantStats:
    """How the variant cache has served runs so far."""

    hits: int
    misses: int
    evictions: int
    compile_seconds: float
    """Spent specializing and building the variants of the misses."""
    cached: int
    capacity: int

    def __str__(self) -> str:
        return (
            f"{self.cached}/{self.capacity} variants cached; {self.hits} hits, {self.misses} "
            f"misses ({self.compile_seconds:.2f} s compiling), {self.evictions} evicted"
        )


def _dims(shape: object) -> tuple[int, ...]:
    """A declared profile's shape as ints, or a CompileError."""
    if not isinstance(shape, Sequence) or not all(
        isinstance(d, int | np.integer) and d >= 0 for d in shape
    ):
        raise CompileError(f"a shape profile gives shape {shape!r}; expected non-negative ints")
    return tuple(int(d) for d in shape)


class VariantModule:
    """Runs a DynamicModel, each run on the static variant compiled for its feeds (see the
    module docstring). `run` is thread-safe: hits run concurrently; misses compile one at a
    time, and a variant another thread is compiling is waited for, not compiled twice."""

    def __init__(
        self,
        model: DynamicModel,
        target: str | CpuTargetAttr = "llvm -mcpu=native",
        opt_level: int = 3,
        use_cache: bool = True,
        max_variants: int | None = None,
    ):
        if max_variants is not None and max_variants < 1:
            raise CompileError(f"max_variants must be at least 1, got {max_variants}")
        self.model = model
        self.cpu = as_target(target)
        self.target = target_string(self.cpu)
        self.opt_level = opt_level
        self.use_cache = use_cache
        self.capacity = max_variants if max_variants is not None else max_variants_from_env()
        self._variants: OrderedDict[tuple[object, ...], Module] = OrderedDict()
        self._profiles: dict[tuple[object, ...], dict[str, np.ndarray]] = {}
        """Each cached variant's checked feeds, for export."""
        self._lock = threading.Lock()
        self._compile_lock = threading.Lock()
        self._hits = self._misses = self._evictions = 0
        self._compile_seconds = 0.0

    @property
    def input_names(self) -> list[str]:
        return self.model.input_names

    @property
    def output_names(self) -> list[str]:
        return list(self.model.output_names)

    def select_variant(self, feeds: Mapping[str, object]) -> tuple[Module, dict[str, np.ndarray]]:
        """The variant for `feeds` (compiled now if new) and the feeds it reads at run time."""
        checked = self.model.signature.checked_feeds(feeds)
        key = self.model.signature.key(checked)
        variant = self._cached(key)
        if variant is None:
            variant = self._compile(key, checked)
        return variant, {name: checked[name] for name in variant.input_names}

    def _cached(self, key: tuple[object, ...]) -> Module | None:
        with self._lock:
            variant = self._variants.get(key)
            if variant is not None:
                self._variants.move_to_end(key)
                self._hits += 1
            return variant

    def _compile(self, key: tuple[object, ...], feeds: Mapping[str, np.ndarray]) -> Module:
        with self._compile_lock:
            variant = self._cached(key)
            if variant is not None:
                return variant
            started = time.perf_counter()
            try:
                variant = self._specialize(feeds)
            finally:
                with self._lock:
                    self._misses += 1
                    self._compile_seconds += time.perf_counter() - started
            with self._lock:
                self._variants[key] = variant
                self._profiles[key] = dict(feeds)
                while len(self._variants) > self.capacity:
                    evicted, _ = self._variants.popitem(last=False)
                    del self._profiles[evicted]
                    self._evictions += 1
            return variant

    def _specialize(self, feeds: Mapping[str, np.ndarray]) -> Module:
        proto, shapes = self.model.specialize(feeds)
        try:
            module, params = from_onnx(proto, shape=shapes)
            if isinstance(module, DynamicModel):
                raise CompileError(f"the specialized model is still dynamic: {module!r}")
            return build(
                module,
                target=self.cpu,
                params=params,
                opt_level=self.opt_level,
                use_cache=self.use_cache,
            )
        except ZigguratError as err:
            err.args = (f"{err} (in the variant for {self.model.describe(feeds)})",)
            raise

    def prebuild(self, feeds: Sequence[Mapping[str, object]]) -> None:
        """Compiles the variants of each of `feeds` ahead of the runs that need them."""
        for one in feeds:
            self.select_variant(one)

    def run(
        self, feeds: Mapping[str, object], outputs: Sequence[str | int] | None = None
    ) -> list[np.ndarray]:
        """As `Module.run`: every input by name, new output arrays; thread-safe."""
        variant, variant_feeds = self.select_variant(feeds)
        return variant.run(variant_feeds, outputs)

    def variant_stats(self) -> VariantStats:
        with self._lock:
            return VariantStats(
                self._hits,
                self._misses,
                self._evictions,
                self._compile_seconds,
                len(self._variants),
                self.capacity,
            )

    def export_library(
        self,
        path: str | Path,
        shapes: Sequence[Mapping[str, object]] | None = None,
        cc: str | None = None,
    ) -> Path:
        """Writes the variants of the declared profiles as one `.zgt` of format version 2
        (runtime/variant_package.py), which `load_module` serves without the compiler; feeds
        of any other shapes or values are then a RunError. Each profile maps an input to its
        shape, or a shape-deciding input to its value; an input whose dims are all fixed may be
        left out. Without `shapes`, the variants compiled so far are written."""
        if shapes is None:
            with self._lock:
                chosen = [(self._profiles[key], variant) for key, variant in self._variants.items()]
            if not chosen:
                raise CompileError(
                    f"cannot export to {path}: no variant is compiled yet; declare the shape "
                    "profiles to export (shapes=[{...}, ...]) or run the model on them first"
                )
        else:
            chosen = []
            for number, profile in enumerate(shapes):
                feeds = self.model.signature.checked_feeds(self._profile_feeds(number, profile))
                chosen.append((feeds, self.select_variant(feeds)[0]))
        variants, seen = [], set()
        for feeds, variant in chosen:
            key = self.model.signature.key(feeds)
            if key in seen:
                continue
            seen.add(key)
            if variant.native is None:
                raise CompileError("a variant has no machine code to export")
            package = Package(
                variant.plan,
                variant.params,
                variant.native.shared_object(cc),
                dict(variant.native.target),
            )
            variants.append(
                PackagedVariant(
                    {name: tuple(value.shape) for name, value in feeds.items()},
                    {name: feeds[name] for name in self.model.shape_inputs},
                    package,
                )
            )
        return write_variant_package(
            path,
            self.model.inputs,
            self.model.shape_inputs,
            self.model.output_names,
            variants,
            variants[0].package.target,
        )

    def _profile_feeds(self, number: int, profile: Mapping[str, object]) -> dict[str, object]:
        """Example feeds of shape profile `number`: zeros of each input's shape, and the
        values of the shape-deciding inputs."""
        unknown = sorted(set(profile) - set(self.input_names))
        if unknown:
            raise CompileError(f"shape profile {number} names unknown input(s) {unknown}")
        feeds: dict[str, object] = {}
        for spec in self.model.inputs:
            given = profile.get(spec.name)
            if spec.name in self.model.shape_inputs:
                if given is None:
                    raise CompileError(
                        f"shape profile {number} gives no value for input {spec.name!r}, which "
                        "decides shapes"
                    )
                feeds[spec.name] = np.asarray(given)
            elif given is not None:
                feeds[spec.name] = np.zeros(_dims(given), spec.dtype)
            elif all(isinstance(d, int) for d in spec.dims):
                feeds[spec.name] = np.zeros(_dims(spec.dims), spec.dtype)
            else:
                raise CompileError(
                    f"shape profile {number} gives no shape for input {spec.name!r} "
                    f"({spec.describe()})"
                )
        return feeds

    def __repr__(self) -> str:
        return (
            f"VariantModule(inputs={self.input_names}, outputs={self.output_names}, "
            f"target={self.target!r}, {self.variant_stats()})"
        )
