"""Whole builds in the code cache: a model built before with the same graph, params, target,
opt_level, tuned configs and schedule templates loads its execution plan, its params as the
build left them (folded, packed) and its units' object code, and runs no pass at all.

The entry holds the plan and params; the object code stays in the units' own entries, so
two models sharing kernels share their code. A missing unit makes the whole entry a miss.
"""

import hashlib
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from ziggurat.backend.code_cache import CodeCache, cache_key
from ziggurat.backend.unit_compile import KERNELS, CompiledUnit, decode
from ziggurat.core.context import ir_text
from ziggurat.core.targets import target_string
from ziggurat.dialects.target import CpuTargetAttr
from ziggurat.runtime.array_files import ArrayFileError
from ziggurat.runtime.params import params_arrays, params_from_arrays
from ziggurat.schedule import dispatch
from ziggurat.schedule.custom_templates import TEMPLATES

MODELS = "models"


def _array_digest(array: np.ndarray) -> str:
    flat = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
    return hashlib.sha256(flat.data).hexdigest()


def build_key(
    mod: ModuleOp,
    params: Mapping[str, np.ndarray],
    cpu: CpuTargetAttr,
    opt_level: int,
    parallel_runtime: str,
) -> str:
    """Everything a build's result depends on, hashed."""
    parts: list[str | bytes] = [
        ir_text(mod),
        target_string(cpu),
        str(cpu),
        str(opt_level),
        parallel_runtime,
    ]
    for name in sorted(params):
        array = np.asarray(params[name])
        parts += [name, str(array.dtype), repr(array.shape), _array_digest(array)]
    table = dispatch.active_table()
    if table is not None:
        configs = {key: dict(config) for key, config in table.configs.items()}
        parts.append(json.dumps([configs, table.strict], sort_keys=True, default=str))
    for template in TEMPLATES.values():
        parts += [template.name, Path(template.source).read_bytes()]
    return cache_key("model", *parts)


@dataclass
class CachedBuild:
    plan: dict[str, Any]
    params: dict[str, np.ndarray]
    units: list[CompiledUnit]
    libraries: list[str]


def store(
    code_cache: CodeCache,
    key: str,
    build: CachedBuild,
) -> None:
    table = dispatch.active_table()
    header = {
        "plan": build.plan,
        "units": [[unit.name, unit.key] for unit in build.units],
        "libraries": build.libraries,
        "applied": sorted(table.applied) if table else [],
        "missed": sorted(table.missed) if table else [],
    }
    arrays = io.BytesIO()
    np.savez(arrays, allow_pickle=False, **params_arrays(build.params))
    text = json.dumps(header).encode()
    code_cache.put(MODELS, key, len(text).to_bytes(8, "little") + text + arrays.getvalue())


def load(code_cache: CodeCache, key: str) -> CachedBuild | None:
    """The cached build, or None when it (or one of its units) is missing or unreadable.
    The tuned configs it was built with count as applied in the active dispatch table."""
    payload = code_cache.get(MODELS, key)
    if payload is None:
        return None
    try:
        size = int.from_bytes(payload[:8], "little")
        header = json.loads(payload[8 : 8 + size])
        with np.load(io.BytesIO(payload[8 + size :]), allow_pickle=False) as arrays:
            stored = {name: arrays[name] for name in arrays.files}
        params = params_from_arrays(stored, "cached build")
    except (ValueError, OSError, KeyError, EOFError, ArrayFileError):
        code_cache.stats.corrupt += 1
        return None
    units: list[CompiledUnit] = []
    for name, unit_key in header["units"]:
        unit_payload = code_cache.get(KERNELS, unit_key)
        if unit_payload is None:
            return None
        try:
            units.append(decode(name, unit_key, unit_payload))
        except (ValueError, UnicodeDecodeError):
            code_cache.stats.corrupt += 1
            return None
    table = dispatch.active_table()
    if table is not None:
        table.applied.update(header["applied"])
        table.missed.update(header["missed"])
    return CachedBuild(header["plan"], params, units, header["libraries"])
