"""A compiled model as the runtime sees it: an execution plan, its params and the machine
code's function addresses. Imports numpy and the standard library only.

Plan format (version 1), plain JSON data:

    {"version": 1,
     "buffers": [{"name": "input", "kind": "input", "shape": [1, 784], "dtype": "float32"}, ...],
     "inputs": [0], "outputs": [3],            # buffer indices, in model order
     "launches": [{"kernel": "matmul_0", "args": [0, 1, 2]}, ...],
     "entry": "main"}                          # or None

Kernel ABI: `void kernel(void *arg0, ...)`, one pointer per buffer argument (C-contiguous,
64-byte aligned). Entry ABI: `void entry(void **table)`, table[i] pointing at buffer i.
"""

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

PLAN_VERSION = 1
BUFFER_KINDS = ("input", "output", "param", "intermediate")


class PlanError(ValueError):
    """The execution plan is malformed or does not match the params."""


def validate_plan(plan: Mapping[str, Any], params: Mapping[str, np.ndarray]) -> None:
    if plan.get("version") != PLAN_VERSION:
        raise PlanError(f"plan version {plan.get('version')!r} is not {PLAN_VERSION}")
    buffers = plan.get("buffers")
    if not isinstance(buffers, list):
        raise PlanError("plan has no buffer list")
    for index, buffer in enumerate(buffers):
        if buffer.get("kind") not in BUFFER_KINDS:
            raise PlanError(f"buffer {index} has kind {buffer.get('kind')!r}")
        try:
            dtype = np.dtype(buffer["dtype"])
        except (KeyError, TypeError) as err:
            raise PlanError(f"buffer {index} has no valid dtype") from err
        if buffer["kind"] == "param":
            name = buffer["name"]
            if name not in params:
                raise PlanError(f"param {name!r} is missing from the params")
            value = params[name]
            if tuple(value.shape) != tuple(buffer["shape"]) or value.dtype != dtype:
                raise PlanError(
                    f"param {name!r} is {value.dtype}{list(value.shape)} but the plan expects "
                    f"{dtype}{list(buffer['shape'])}"
                )
    for key in ("inputs", "outputs"):
        for index in plan.get(key, []):
            if not 0 <= index < len(buffers) or buffers[index]["kind"] != key[:-1]:
                raise PlanError(f"plan {key} entry {index} is not an {key[:-1]} buffer")
    for launch in plan.get("launches", []):
        if not isinstance(launch.get("kernel"), str):
            raise PlanError(f"launch {launch!r} names no kernel")
        for index in launch.get("args", []):
            if not 0 <= index < len(buffers):
                raise PlanError(f"launch of {launch['kernel']!r} uses unknown buffer {index}")


class Module:
    """What `ziggurat.build` returns and `GraphModule` runs (TVM's factory module)."""

    def __init__(
        self,
        plan: Mapping[str, Any],
        params: Mapping[str, np.ndarray],
        symbols: Callable[[str], int],
        keepalive: object = None,
        target: str = "",
    ):
        validate_plan(plan, params)
        self.plan = dict(plan)
        self.params = dict(params)
        self.keepalive = keepalive
        self.target = target
        self._symbols = symbols
        self._addresses: dict[str, int] = {}

    def get_function(self, name: str) -> int:
        """The machine address of a compiled function, looked up once."""
        if name not in self._addresses:
            address = self._symbols(name)
            if not address:
                raise PlanError(f"the compiled code has no function {name!r}")
            self._addresses[name] = address
        return self._addresses[name]

    @property
    def input_names(self) -> list[str]:
        return [self.plan["buffers"][i]["name"] for i in self.plan["inputs"]]

    @property
    def output_names(self) -> list[str]:
        return [self.plan["buffers"][i]["name"] for i in self.plan["outputs"]]

    @property
    def kernel_names(self) -> list[str]:
        return sorted({launch["kernel"] for launch in self.plan["launches"]})
