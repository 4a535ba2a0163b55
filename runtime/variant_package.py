"""The `.zgt` file of a model compiled per input shapes: its declared profiles, each a static
variant, in one file that loads without the compiler (format version 2).

A zip archive like a version-1 `.zgt` (runtime/package.py), holding:

    manifest.json   {"format": "ziggurat-zgt", "format_version": 2, "target": {...},
                     "inputs": [{"name": "x", "dtype": "float32", "dims": [1, "seq", 32]}, ...],
                     "shape_inputs": ["s"], "outputs": ["y"],
                     "variants": [{"shapes": {"x": [1, 16, 32], "s": [2]},
                                   "values": {"s": [16, 32]}}, ...],
                     "members": {"variant0/plan.json": "<sha256>", ...}, "checksum": "..."}
    variantN/plan.json, variantN/params.npz, variantN/model.so   for each variant N

`shapes` gives every input's shape and `values` the shape-deciding inputs' values (nested
lists), together the variant's key. The reader checks what a version-1 reader does (the
archive, format and version, manifest checksum, target, every member's sha256 and size
against the memory limit before any is read, no member the manifest does not list), and
that each variant names every input, once.
"""

import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ziggurat.runtime.array_files import ZIP_DAMAGE, ArrayFileError, zip_member_sizes
from ziggurat.runtime.errors import PackageError
from ziggurat.runtime.package import (
    COMMENT,
    FORMAT,
    MANIFEST,
    PARAMS,
    PLAN,
    SHARED_OBJECT,
    TARGET_KEYS,
    Package,
    _check_manifest,
    _sha256,
    write_archive,
)
from ziggurat.runtime.params import load_params, save_params
from ziggurat.runtime.variant_inputs import InputSpec

VARIANTS_FORMAT_VERSION = 2
MANIFEST_PEEK_BYTES = 1 << 20
"""The largest manifest read to learn a file's format version before the full checks."""


@dataclass(frozen=True)
class PackagedVariant:
    """One variant: the feeds it serves (every input's shape, the shape-deciding inputs'
    values) and its compiled contents."""

    shapes: dict[str, tuple[int, ...]]
    values: dict[str, np.ndarray]
    package: Package


@dataclass(frozen=True)
class VariantPackage:
    inputs: tuple[InputSpec, ...]
    shape_inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    variants: tuple[PackagedVariant, ...]
    target: dict[str, Any]


def _variant_members(index: int) -> tuple[str, str, str]:
    return (f"variant{index}/{PLAN}", f"variant{index}/{PARAMS}", f"variant{index}/{SHARED_OBJECT}")


def write_variant_package(
    path: str | Path,
    inputs: Sequence[InputSpec],
    shape_inputs: Sequence[str],
    outputs: Sequence[str],
    variants: Sequence[PackagedVariant],
    target: Mapping[str, Any],
) -> Path:
    """Writes the variants as one `.zgt`, through a temporary file (no partial file)."""
    path = Path(path)
    contents: dict[str, bytes] = {}
    described = []
    for index, variant in enumerate(variants):
        params_file = io.BytesIO()
        save_params(params_file, variant.package.params)
        plan_name, params_name, code_name = _variant_members(index)
        contents[plan_name] = json.dumps(variant.package.plan).encode()
        contents[params_name] = params_file.getvalue()
        contents[code_name] = variant.package.shared_object
        described.append(
            {
                "shapes": {name: list(shape) for name, shape in variant.shapes.items()},
                "values": {name: value.tolist() for name, value in variant.values.items()},
            }
        )
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": VARIANTS_FORMAT_VERSION,
        "target": {key: target[key] for key in TARGET_KEYS},
        "inputs": [spec.as_json() for spec in inputs],
        "shape_inputs": list(shape_inputs),
        "outputs": list(outputs),
        "variants": described,
    }
    return write_archive(path, manifest, contents)


def package_format_version(path: str | Path) -> object:
    """The format version a `.zgt`'s manifest declares, or None when it cannot be read (the
    full reader then says why)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if MANIFEST not in names or archive.getinfo(MANIFEST).file_size > MANIFEST_PEEK_BYTES:
                return None
            manifest = json.loads(archive.read(MANIFEST))
    except (OSError, *ZIP_DAMAGE):
        return None
    return manifest.get("format_version") if isinstance(manifest, dict) else None


def _read_archive(path: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    try:
        with zipfile.ZipFile(path) as archive:
            if archive.comment != COMMENT:
                raise zipfile.BadZipFile("the archive does not end as a .zgt file does")
            names = set(archive.namelist())
            if MANIFEST not in names:
                raise PackageError(f"{path} is not a .zgt file: it lacks {MANIFEST}")
            zip_member_sizes(archive, [MANIFEST], str(path))
            manifest = _check_manifest(path, archive.read(MANIFEST), VARIANTS_FORMAT_VERSION)
            listed = set(manifest["members"])
            missing = sorted(listed - names)
            if missing:
                raise PackageError(f"{path} is not a .zgt file: it lacks {', '.join(missing)}")
            foreign = sorted(names - listed - {MANIFEST})
            if foreign or len(archive.infolist()) != len(names):
                shown = ", ".join(map(repr, foreign)) or "a member named twice"
                raise PackageError(f"{path} holds what no .zgt file holds: {shown}")
            zip_member_sizes(archive, [MANIFEST, *sorted(listed)], str(path))
            return manifest, {name: archive.read(name) for name in sorted(listed)}
    except OSError as err:
        raise PackageError(f"cannot read {path}: {err.strerror or err}") from err
    except ZIP_DAMAGE as err:
        raise PackageError(
            f"{path} is not a complete .zgt file (truncated or corrupt: {err})"
        ) from err


def _inputs(path: Path, manifest: Mapping[str, Any]) -> tuple[InputSpec, ...]:
    entries = manifest.get("inputs")
    if not isinstance(entries, list) or not entries:
        raise PackageError(f"{path} has a manifest without inputs")
    specs = []
    for entry in entries:
        dims = entry.get("dims") if isinstance(entry, dict) else None
        well_formed = (
            isinstance(entry, dict)
            and isinstance(entry.get("name"), str)
            and isinstance(entry.get("dtype"), str)
            and isinstance(dims, list)
            and all(isinstance(d, str) or (type(d) is int and d >= 0) for d in dims)
        )
        if not well_formed:
            raise PackageError(f"{path} has a manifest with a malformed input: {entry!r}")
        try:
            dtype = np.dtype(entry["dtype"])
        except TypeError as err:
            raise PackageError(f"{path} declares input dtype {entry['dtype']!r}: {err}") from err
        if dtype.kind not in "biufc":
            raise PackageError(f"{path} declares input dtype {entry['dtype']!r}, not a number's")
        specs.append(InputSpec(entry["name"], dtype, tuple(entry["dims"])))
    return tuple(specs)


def _variant(
    path: Path, index: int, entry: object, specs: Sequence[InputSpec], shape_inputs: Sequence[str]
) -> tuple[dict[str, tuple[int, ...]], dict[str, np.ndarray]]:
    label = f"{path} variant {index}"
    shapes = entry.get("shapes") if isinstance(entry, dict) else None
    values = entry.get("values") if isinstance(entry, dict) else None
    if not isinstance(shapes, dict) or not isinstance(values, dict):
        raise PackageError(f"{label} is not a mapping of shapes and values")
    if sorted(shapes) != sorted(s.name for s in specs) or sorted(values) != sorted(shape_inputs):
        raise PackageError(f"{label} does not give every input's shape and value once")
    checked_shapes, checked_values = {}, {}
    for spec in specs:
        shape = shapes[spec.name]
        if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
            raise PackageError(f"{label} gives input {spec.name!r} shape {shape!r}")
        checked_shapes[spec.name] = tuple(shape)
    for name in shape_inputs:
        spec = next(s for s in specs if s.name == name)
        try:
            value = np.asarray(values[name], dtype=spec.dtype)
        except (TypeError, ValueError, OverflowError) as err:
            raise PackageError(f"{label} gives input {name!r} value {values[name]!r}") from err
        if value.shape != checked_shapes[name]:
            raise PackageError(f"{label} gives input {name!r} a value not of its shape")
        checked_values[name] = value
    return checked_shapes, checked_values


def read_variant_package(path: str | Path) -> VariantPackage:
    """Reads and checks a version-2 `.zgt`; raises PackageError naming the first problem."""
    path = Path(path)
    manifest, contents = _read_archive(path)
    for name, data in contents.items():
        if manifest["members"][name] != _sha256(data):
            raise PackageError(f"{path} fails its checksum: {name} is corrupt")
    specs = _inputs(path, manifest)
    shape_inputs, outputs = manifest.get("shape_inputs"), manifest.get("outputs")
    names = [spec.name for spec in specs]
    if not isinstance(shape_inputs, list) or not all(name in names for name in shape_inputs):
        raise PackageError(f"{path} has a manifest whose shape_inputs are not inputs")
    if not isinstance(outputs, list) or not all(isinstance(name, str) for name in outputs):
        raise PackageError(f"{path} has a manifest without output names")
    entries = manifest.get("variants")
    if not isinstance(entries, list) or not entries:
        raise PackageError(f"{path} has a manifest without variants")
    expected = {name for index in range(len(entries)) for name in _variant_members(index)}
    if expected != set(contents):
        raise PackageError(f"{path} has members that do not match its variants")
    variants = []
    for index, entry in enumerate(entries):
        shapes, values = _variant(path, index, entry, specs, shape_inputs)
        plan_name, params_name, code_name = _variant_members(index)
        try:
            plan = json.loads(contents[plan_name])
            params = load_params(io.BytesIO(contents[params_name]), f"{path}:{params_name}")
        except (ValueError, OSError, ArrayFileError) as err:
            raise PackageError(f"{path} has unreadable contents: {err}") from err
        package = Package(plan, params, contents[code_name], manifest["target"])
        variants.append(PackagedVariant(shapes, values, package))
    return VariantPackage(
        specs, tuple(shape_inputs), tuple(outputs), tuple(variants), manifest["target"]
    )
