"""Params files: weights by name in a plain `.npz` (never pickle).

Names may hold any character (`save_infer_model/scale_0.tmp_1`, `onnx::Gemm_0`, JSON), so the
arrays are stored under positional keys and the names in a JSON list beside them.
"""

import json
from collections.abc import Mapping
from pathlib import Path
from typing import IO

import numpy as np

NAMES_KEY = "__names__"


def save_params(target: str | Path | IO[bytes], params: Mapping[str, np.ndarray]) -> None:
    names = list(params)
    arrays = {f"p{n}": np.ascontiguousarray(params[name]) for n, name in enumerate(names)}
    encoded = np.frombuffer(json.dumps(names).encode(), dtype=np.uint8)
    np.savez(target, allow_pickle=False, **arrays, **{NAMES_KEY: encoded})


def load_params(source: str | Path | IO[bytes]) -> dict[str, np.ndarray]:
    with np.load(source, allow_pickle=False) as data:
        if NAMES_KEY not in data.files:
            return {key: data[key] for key in data.files}
        names = json.loads(data[NAMES_KEY].tobytes().decode())
        return {name: data[f"p{n}"] for n, name in enumerate(names)}
