"""Which config each kernel's template applies: the tuned one where one is given, else the
template's default (AutoTVM's dispatch context).

A kernel is known by its workload key: a hash of its printed loop nests (its name left out,
so identical kernels of different models share a key) and of which arguments are constant
weights (those a template may pack). `sched-default-schedule` asks `config_for(key)`; the
tuner's `apply_history_best` fills the table with `use_configs`.
"""

import hashlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, StringAttr

from ziggurat.core.context import ir_text
from ziggurat.schedule.pack import packable_arguments
from ziggurat.schedule.space import Config


def kernel_text(kernel: func.FuncOp) -> str:
    """The kernel's printed IR under the neutral name `@kernel`."""
    copy = kernel.clone()
    copy.sym_name = StringAttr("kernel")
    return ir_text(copy)


def workload_key(text: str, constant_arguments: set[int]) -> str:
    """The key of a kernel given its `kernel_text` and its constant-weight arguments."""
    digest = hashlib.sha256(text.encode())
    digest.update(repr(sorted(constant_arguments)).encode())
    return digest.hexdigest()[:24]


@dataclass
class DispatchTable:
    """Configs by workload key, and the keys that were asked for (to say what was tuned)."""

    configs: Mapping[str, Config]
    strict: bool = False
    """A config that does not apply is an error (measuring a candidate), not a fallback."""
    applied: set[str] = field(default_factory=set[str])
    missed: set[str] = field(default_factory=set[str])


_table: ContextVar[DispatchTable | None] = ContextVar("dispatch_table", default=None)


@contextmanager
def use_configs(configs: Mapping[str, Config], strict: bool = False) -> Iterator[DispatchTable]:
    """Within the block, kernels whose key is in `configs` get that config."""
    table = DispatchTable(configs, strict)
    token = _table.set(table)
    try:
        yield table
    finally:
        _table.reset(token)


def active_table() -> DispatchTable | None:
    """The table of the innermost `use_configs` block, if any."""
    return _table.get()


def config_for(key: str) -> Config | None:
    """The config given for a workload, or None (the template's default)."""
    table = _table.get()
    if table is None:
        return None
    config = table.configs.get(key)
    (table.applied if config is not None else table.missed).add(key)
    return config


def config_for_kernel(
    kernel: func.FuncOp, module: ModuleOp, params: dict[str, np.ndarray]
) -> Config | None:
    """`config_for` the kernel's workload key; the key is computed only inside `use_configs`
    (printing a kernel costs time a build without tuning records need not spend)."""
    if _table.get() is None:
        return None
    key = workload_key(kernel_text(kernel), packable_arguments(kernel, module, params))
    return config_for(key)


def is_strict() -> bool:
    table = _table.get()
    return table is not None and table.strict
