"""Params files: weights by name in a plain `.npz` (never pickle).

Names may hold any character (`save_infer_model/scale_0.tmp_1`, `onnx::Gemm_0`, JSON), so the
arrays are stored under positional keys and the names in a JSON list beside them.
"""

import json
from collections.abc import Mapping
from pathlib import Path
from typing import IO

import numpy as np

from ziggurat.runtime.array_files import ArrayFileError, load_arrays
from ziggurat.runtime.dtypes import dtype_named

NAMES_KEY = "__names__"
BFLOAT16_KEY = "__bfloat16__"
"""The positions of the bfloat16 arrays, stored as their uint16 bits (.npy files have no
bfloat16: numpy would write it as opaque two-byte records)."""


def params_arrays(params: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The members of a params file: the arrays under positional keys (bfloat16 as its
    bits), the JSON list of names and the list of bfloat16 positions."""
    names = list(params)
    arrays = {f"p{n}": np.ascontiguousarray(params[name]) for n, name in enumerate(names)}
    bfloat16 = [n for n, name in enumerate(names) if params[name].dtype.name == "bfloat16"]
    for n in bfloat16:
        arrays[f"p{n}"] = arrays[f"p{n}"].view(np.uint16)
    arrays[NAMES_KEY] = np.frombuffer(json.dumps(names).encode(), dtype=np.uint8)
    if bfloat16:
        arrays[BFLOAT16_KEY] = np.array(bfloat16, dtype=np.int64)
    return arrays


def params_from_arrays(data: dict[str, np.ndarray], label: str) -> dict[str, np.ndarray]:
    """The params that `params_arrays` stored; members without the names list are taken by
    their own names."""
    if NAMES_KEY not in data:
        return data
    try:
        names = json.loads(data.pop(NAMES_KEY).tobytes().decode())
        for n in data.pop(BFLOAT16_KEY, np.zeros(0, np.int64)).tolist():
            data[f"p{n}"] = data[f"p{n}"].view(dtype_named("bfloat16"))
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise ValueError("the names list is not a list of strings")
        if sorted(data) != sorted(f"p{n}" for n in range(len(names))):
            raise ValueError(f"it names {len(names)} arrays but holds {len(data)}")
        return {name: data[f"p{n}"] for n, name in enumerate(names)}
    except (ValueError, UnicodeDecodeError, KeyError, TypeError) as err:
        raise ArrayFileError(f"{label} has a corrupt list of param names: {err}") from err


def save_params(target: str | Path | IO[bytes], params: Mapping[str, np.ndarray]) -> None:
    np.savez(target, allow_pickle=False, **params_arrays(params))


def load_params(source: str | Path | IO[bytes], label: str | None = None) -> dict[str, np.ndarray]:
    """The params in `source`, sizes checked before reading (runtime/array_files.py)."""
    label = label or str(source)
    return params_from_arrays(load_arrays(source, label), label)
