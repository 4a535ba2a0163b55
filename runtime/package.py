"""The `.zgt` file: a compiled model in one file that loads without the compiler.

A zip archive (members stored uncompressed, archive comment "ziggurat-zgt") holding:

    manifest.json   {"format": "ziggurat-zgt", "format_version": 1,
                     "target": {"target": "llvm -mtriple=... -mcpu=...", "triple": "...",
                                "cpu": "...", "features": ["avx2", "fma", ...]},
                     "members": {"plan.json": "<sha256>", "params.npz": "<sha256>",
                                 "model.so": "<sha256>"},
                     "checksum": "<sha256 of this manifest without the checksum field>"}
    plan.json       the execution plan (format in runtime/module.py)
    params.npz      the params (runtime/params.py; arrays only, never pickle)
    model.so        the kernels and the entry, a shared object for the target's triple

`features` are the LLVM CPU features the code may use; the loader checks them against this
machine. The reader checks, in order: a readable zip archive, the format and its version, the
manifest checksum, each member's sha256, then parses the members. Members are size-checked
against the memory limit before any is read (a member may not inflate past what the machine
can hold).
"""

import hashlib
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ziggurat.runtime.array_files import ZIP_DAMAGE, ArrayFileError, zip_member_sizes
from ziggurat.runtime.errors import PackageError
from ziggurat.runtime.params import load_params, save_params

FORMAT = "ziggurat-zgt"
COMMENT = FORMAT.encode()  # marks the archive's own end, not the end of a nested .npz
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PLAN = "plan.json"
PARAMS = "params.npz"
SHARED_OBJECT = "model.so"
MEMBERS = (PLAN, PARAMS, SHARED_OBJECT)
TARGET_KEYS = ("target", "triple", "cpu", "features")


@dataclass(frozen=True)
class Package:
    """A `.zgt` file's contents, checked and parsed."""

    plan: dict[str, Any]
    params: dict[str, np.ndarray]
    shared_object: bytes
    target: dict[str, Any]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _manifest_checksum(manifest: Mapping[str, Any]) -> str:
    unsigned = {key: value for key, value in manifest.items() if key != "checksum"}
    return _sha256(json.dumps(unsigned, sort_keys=True).encode())


def write_package(
    path: str | Path,
    plan: Mapping[str, Any],
    params: Mapping[str, np.ndarray],
    shared_object: bytes,
    target: Mapping[str, Any],
) -> Path:
    """Writes a `.zgt` through a temporary file beside `path`, so that a failure leaves no
    partial file and a reader never sees one half written."""
    path = Path(path)
    params_file = io.BytesIO()
    save_params(params_file, params)
    contents = {
        PLAN: json.dumps(plan).encode(),
        PARAMS: params_file.getvalue(),
        SHARED_OBJECT: shared_object,
    }
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "target": {key: target[key] for key in TARGET_KEYS},
    }
    return write_archive(path, manifest, contents)


def write_archive(path: Path, manifest: dict[str, Any], contents: Mapping[str, bytes]) -> Path:
    """`contents` and the manifest (given its members' digests and its checksum) as a `.zgt`
    written through a temporary file beside `path`: a failure leaves no partial file and a
    reader never sees one half written."""
    manifest["members"] = {name: _sha256(data) for name, data in contents.items()}
    manifest["checksum"] = _manifest_checksum(manifest)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as stream, zipfile.ZipFile(stream, "w") as archive:
            archive.comment = COMMENT
            archive.writestr(MANIFEST, json.dumps(manifest, indent=1))
            for name, data in contents.items():
                archive.writestr(name, data)
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
    return path


def _read_members(path: Path) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(path) as archive:
            if archive.comment != COMMENT:
                raise zipfile.BadZipFile("the archive does not end as a .zgt file does")
            names = set(archive.namelist())
            missing = [name for name in (MANIFEST, *MEMBERS) if name not in names]
            if missing:
                raise PackageError(f"{path} is not a .zgt file: it lacks {', '.join(missing)}")
            foreign = sorted(names - {MANIFEST, *MEMBERS})
            if foreign or len(archive.infolist()) != len(names):
                listed = ", ".join(map(repr, foreign)) or "a member named twice"
                raise PackageError(f"{path} holds what no .zgt file holds: {listed}")
            zip_member_sizes(archive, (MANIFEST, *MEMBERS), str(path))
            return {name: archive.read(name) for name in (MANIFEST, *MEMBERS)}
    except OSError as err:
        raise PackageError(f"cannot read {path}: {err.strerror or err}") from err
    except ZIP_DAMAGE as err:
        raise PackageError(
            f"{path} is not a complete .zgt file (truncated or corrupt: {err})"
        ) from err


def _check_manifest(path: Path, raw: bytes, format_version: int = FORMAT_VERSION) -> dict[str, Any]:
    """The manifest, parsed and checked: its format, `format_version`, checksum, target and
    the presence of its member checksums (runtime/variant_package.py reads version 2)."""
    try:
        manifest = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise PackageError(f"{path} has a corrupt manifest: {err}") from err
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise PackageError(f"{path} is not a .zgt file (its manifest names no {FORMAT} format)")
    version = manifest.get("format_version")
    if version != format_version:
        raise PackageError(
            f"{path} has .zgt format version {version!r}, but this runtime reads version "
            f"{format_version}: export it again with this version of Ziggurat"
        )
    if manifest.get("checksum") != _manifest_checksum(manifest):
        raise PackageError(f"{path} fails its checksum (the manifest was altered or is corrupt)")
    target, members = manifest.get("target"), manifest.get("members")
    if not isinstance(target, dict) or any(key not in target for key in TARGET_KEYS):
        raise PackageError(f"{path} has a manifest without a complete target")
    for key in TARGET_KEYS:
        value = target[key]
        if key == "features":
            well_formed = isinstance(value, list) and all(isinstance(v, str) for v in value)
        else:
            well_formed = isinstance(value, str)
        if not well_formed:
            expected = "a list of strings" if key == "features" else "a string"
            raise PackageError(
                f"{path} has a manifest whose target {key!r} is {value!r}, not {expected}"
            )
    if not isinstance(members, dict):
        raise PackageError(f"{path} has a manifest without member checksums")
    return manifest


def read_package(path: str | Path) -> Package:
    """Reads and checks a `.zgt` file; raises PackageError naming the first problem."""
    path = Path(path)
    contents = _read_members(path)
    manifest = _check_manifest(path, contents[MANIFEST])
    for name in MEMBERS:
        if manifest["members"].get(name) != _sha256(contents[name]):
            raise PackageError(f"{path} fails its checksum: {name} is corrupt")
    try:
        plan = json.loads(contents[PLAN])
        params = load_params(io.BytesIO(contents[PARAMS]), f"{path}:{PARAMS}")
    except (ValueError, OSError, ArrayFileError) as err:
        raise PackageError(f"{path} has unreadable contents: {err}") from err
    return Package(plan, params, contents[SHARED_OBJECT], manifest["target"])
