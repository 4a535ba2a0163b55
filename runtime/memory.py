"""Buffers the compiled kernels can use: C-contiguous and 64-byte aligned, because the code
generator marks every kernel pointer `align 64` and emits aligned 512-bit vector accesses."""

import numpy as np

ALIGNMENT = 64


def aligned_empty(
    shape: tuple[int, ...], dtype: np.dtype | str | type, align: int = ALIGNMENT
) -> np.ndarray:
    """An uninitialized C-contiguous array whose data starts on an `align`-byte boundary."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.empty(nbytes + align, dtype=np.uint8)
    offset = (-raw.ctypes.data) % align
    return raw[offset : offset + nbytes].view(dtype).reshape(shape)


def aligned_copy(array: np.ndarray, align: int = ALIGNMENT) -> np.ndarray:
    """A C-contiguous, `align`-byte aligned copy of `array`."""
    copy = aligned_empty(array.shape, array.dtype, align)
    copy[...] = array
    return copy
