"""Real machine code for the runtime tests, from hand-written LLVM IR, so that they exercise
the runtime alone and not the compiler.

The model: relu = max(x + bias, 0); sum = relu + y, over [2, 8] float32. `relu` is an output
that a later kernel also reads.
"""

import copy
from collections.abc import Callable
from typing import Any

import llvmlite.binding as llvm
import numpy as np
import pytest

from ziggurat.runtime import Module

SHAPE = (2, 8)
ELEMENTS = SHAPE[0] * SHAPE[1]
BIAS_NAME = "encoder/bias:0 (fc.1)"
ENTRY = "__ziggurat_main"

PLAN: dict[str, Any] = {
    "version": 1,
    "buffers": [
        {"name": "x", "kind": "input", "shape": list(SHAPE), "dtype": "float32"},
        {"name": BIAS_NAME, "kind": "param", "shape": list(SHAPE), "dtype": "float32"},
        {"name": "t0", "kind": "intermediate", "shape": list(SHAPE), "dtype": "float32"},
        {"name": "relu", "kind": "output", "shape": list(SHAPE), "dtype": "float32"},
        {"name": "y", "kind": "input", "shape": list(SHAPE), "dtype": "float32"},
        {"name": "sum", "kind": "output", "shape": list(SHAPE), "dtype": "float32"},
    ],
    "inputs": [0, 4],
    "outputs": [3, 5],
    "launches": [
        {"kernel": "add", "args": [0, 1, 2]},
        {"kernel": "relu", "args": [2, 3]},
        {"kernel": "add", "args": [3, 4, 5]},
    ],
    "entry": ENTRY,
}

KERNELS_IR = f"""
define void @add(ptr noalias %a, ptr noalias %b, ptr noalias %out) {{
entry:
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %next, %loop ]
  %pa = getelementptr float, ptr %a, i64 %i
  %pb = getelementptr float, ptr %b, i64 %i
  %po = getelementptr float, ptr %out, i64 %i
  %va = load float, ptr %pa
  %vb = load float, ptr %pb
  %sum = fadd float %va, %vb
  store float %sum, ptr %po
  %next = add i64 %i, 1
  %done = icmp eq i64 %next, {ELEMENTS}
  br i1 %done, label %exit, label %loop
exit:
  ret void
}}

define void @relu(ptr noalias %in, ptr noalias %out) {{
entry:
  br label %loop
loop:
  %i = phi i64 [ 0, %entry ], [ %next, %loop ]
  %pi = getelementptr float, ptr %in, i64 %i
  %po = getelementptr float, ptr %out, i64 %i
  %v = load float, ptr %pi
  %positive = fcmp ogt float %v, 0.0
  %r = select i1 %positive, float %v, float 0.0
  store float %r, ptr %po
  %next = add i64 %i, 1
  %done = icmp eq i64 %next, {ELEMENTS}
  br i1 %done, label %exit, label %loop
exit:
  ret void
}}
"""


def entry_ir(plan: dict[str, Any]) -> str:
    """`void entry(void **table)`: loads each launch's pointers from the table, calls it."""
    lines = [f"define void @{plan['entry']}(ptr %table) {{"]
    for index in range(len(plan["buffers"])):
        lines.append(f"  %slot{index} = getelementptr ptr, ptr %table, i64 {index}")
        lines.append(f"  %b{index} = load ptr, ptr %slot{index}")
    for launch in plan["launches"]:
        args = ", ".join(f"ptr %b{i}" for i in launch["args"])
        lines.append(f"  call void @{launch['kernel']}({args})")
    lines += ["  ret void", "}"]
    return "\n".join(lines)


class CountingSymbols:
    """A `symbols` callable that records every lookup, to check each happens once."""

    def __init__(self, engine: llvm.ExecutionEngine):
        self.engine = engine
        self.lookups: list[str] = []

    def __call__(self, name: str) -> int:
        self.lookups.append(name)
        return self.engine.get_function_address(name)


@pytest.fixture(scope="session")
def engine() -> llvm.ExecutionEngine:
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    module = llvm.parse_assembly(KERNELS_IR + entry_ir(PLAN))
    module.verify()
    machine = llvm.Target.from_default_triple().create_target_machine()
    engine = llvm.create_mcjit_compiler(module, machine)
    engine.finalize_object()
    return engine


@pytest.fixture
def plan() -> dict[str, Any]:
    return copy.deepcopy(PLAN)


@pytest.fixture
def params() -> dict[str, np.ndarray]:
    return {BIAS_NAME: np.linspace(-1, 1, ELEMENTS, dtype=np.float32).reshape(SHAPE)}


@pytest.fixture
def symbols(engine: llvm.ExecutionEngine) -> CountingSymbols:
    return CountingSymbols(engine)


@pytest.fixture
def make_lib(
    engine: llvm.ExecutionEngine,
    symbols: CountingSymbols,
    plan: dict[str, Any],
    params: dict[str, np.ndarray],
) -> Callable[..., Module]:
    """Builds a Module of the test model; keyword arguments replace plan fields."""

    def make(**plan_fields: Any) -> Module:
        return Module(
            {**plan, **plan_fields},
            params,
            symbols,
            keepalive=engine,
            target="llvm -mcpu=native",
        )

    return make


@pytest.fixture
def lib(make_lib: Callable[..., Module]) -> Module:
    return make_lib()


@pytest.fixture
def inputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {name: rng.standard_normal(SHAPE).astype(np.float32) for name in ("x", "y")}


@pytest.fixture
def expected(
    inputs: dict[str, np.ndarray], params: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    relu = np.maximum(inputs["x"] + params[BIAS_NAME], 0)
    return relu, relu + inputs["y"]


@pytest.fixture(scope="session")
def shared_object() -> bytes:
    """The test kernels and entry linked as a shared object, as export_library makes one."""
    from ziggurat.runtime.linker import link_shared_object

    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    module = llvm.parse_assembly(KERNELS_IR + entry_ir(PLAN))
    machine = llvm.Target.from_default_triple().create_target_machine(reloc="pic")
    return link_shared_object(machine.emit_object(module))


@pytest.fixture
def host_target() -> dict[str, Any]:
    return {
        "target": "llvm",
        "triple": llvm.get_process_triple(),
        "cpu": "generic",
        "features": [],
    }
