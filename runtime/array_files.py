""".npy and .npz files from anywhere (params, inputs, packages), read with their sizes checked.

numpy trusts a file's header: an .npy header that declares 2**40 elements allocates before it
reads, and an .npz member may be deflated so that a few kilobytes inflate to gigabytes. These
readers check what a header or a zip entry declares against the bytes really there and against
the memory limit (runtime/limits.py) before numpy allocates anything, and never unpickle.
"""

import io
import os
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO

import numpy as np

from ziggurat.runtime.errors import ResourceLimitError, RuntimeModuleError
from ziggurat.runtime.limits import limit_text, memory_limit, size_text

ZIP_DAMAGE = (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError, RuntimeError)
"""What zipfile raises on a damaged archive: a bad structure or checksum (BadZipFile,
ValueError), a truncation (EOFError), a compression method it lacks (NotImplementedError),
an encrypted member (RuntimeError)."""

NPY_HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


class ArrayFileError(RuntimeModuleError):
    """An .npy or .npz file that is not a plain array file of the size it claims."""


def check_sizes(sizes: Iterable[tuple[str, int]], source: str) -> None:
    """Raises ResourceLimitError if the named byte counts together exceed the memory limit."""
    limit = memory_limit()
    listed = sorted(sizes, key=lambda item: -item[1])
    total = sum(count for _, count in listed)
    if limit is None or total <= limit:
        return
    largest = ", ".join(f"{name!r} ({size_text(count)})" for name, count in listed[:3])
    raise ResourceLimitError(
        f"{source} would take {size_text(total)} once read but the limit is "
        f"{limit_text(limit)}; largest: {largest}"
    )


def zip_member_sizes(archive: zipfile.ZipFile, names: Iterable[str], source: str) -> None:
    """Checks the sizes the members `names` of `archive` will inflate to, before any is read;
    zipfile never inflates a member past the size its entry declares."""
    check_sizes(((name, archive.getinfo(name).file_size) for name in names), source)


def _read_npy(stream: IO[bytes], available: int, label: str) -> np.ndarray:
    """The array in an .npy stream of `available` bytes, its header checked first."""
    try:
        version = np.lib.format.read_magic(stream)
        reader = NPY_HEADER_READERS.get(version)
        if reader is None:
            raise ValueError(f".npy format version {version} is not read here")
        shape, fortran_order, dtype = reader(stream)
    except (ValueError, EOFError, SyntaxError) as err:
        raise ArrayFileError(f"{label} is not a readable .npy array: {err}") from err
    if dtype.hasobject:
        raise ArrayFileError(f"{label} holds Python objects, which are never loaded (pickle)")
    declared = dtype.itemsize
    for dim in shape:
        declared *= int(dim)
    held = available - stream.tell()
    if declared > held:
        raise ArrayFileError(
            f"{label} declares {dtype}{list(shape)} ({size_text(declared)}) but holds "
            f"{size_text(max(held, 0))}: truncated or corrupt"
        )
    check_sizes([(label, declared)], label)
    data = bytearray(declared)
    if stream.readinto(data) != declared:  # type: ignore[attr-defined]
        raise ArrayFileError(f"{label} ends before its data does")
    array = np.frombuffer(data, dtype=dtype)
    return array.reshape(shape, order="F" if fortran_order else "C")


def load_array(path: str | Path) -> np.ndarray:
    """The array in an .npy file."""
    label = str(path)
    try:
        with open(path, "rb") as stream:
            return _read_npy(stream, os.fstat(stream.fileno()).st_size, label)
    except OSError as err:
        raise ArrayFileError(f"cannot read {label}: {err.strerror or err}") from err


def load_arrays(source: str | Path | IO[bytes] | bytes, label: str) -> dict[str, np.ndarray]:
    """The arrays of an .npz file (a path, a stream or its bytes) by member name, without the
    `.npy` suffix, as np.load gives them."""
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    try:
        with zipfile.ZipFile(source) as archive:
            members = [info for info in archive.infolist() if not info.filename.endswith("/")]
            names = [info.filename for info in members]
            zip_member_sizes(archive, names, label)
            arrays = {}
            for info in members:
                key = info.filename.removesuffix(".npy")
                with archive.open(info) as stream:
                    arrays[key] = _read_npy(stream, info.file_size, f"{label}:{key}")
            return arrays
    except OSError as err:
        raise ArrayFileError(f"cannot read {label}: {err.strerror or err}") from err
    except ZIP_DAMAGE as err:
        raise ArrayFileError(f"{label} is not a complete .npz file: {err}") from err
