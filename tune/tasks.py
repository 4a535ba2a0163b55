"""Tuning tasks: one per distinct kernel of a model whose templates have knobs.

    tasks = tune.extract_tasks(mod, target="llvm -mcpu=native", params=params)
    print(tasks[0])                  # name, weight, FLOPs, the config space

A kernel is what the build would schedule: the model's graph passes at `opt_level` and the
lowering run up to the schedules, so a task's workload key is the key `sched-default-schedule`
looks up when building the same model. Each task carries a standalone module (its kernel, and
a `@main` that calls it: constant weights as params, other arguments as inputs and outputs)
from which a candidate is built and timed, here or in another process.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import MemRefType, ModuleOp

from ziggurat.backend import plan
from ziggurat.core.context import make_context
from ziggurat.core.pass_manager import PassManager
from ziggurat.core.pipelines import DEFAULT_SCHEDULES, GRAPH_PASSES_BY_LEVEL, LOWERING
from ziggurat.core.targets import as_target
from ziggurat.dialects import graph, sched
from ziggurat.dialects.target import CPU_ATTR, CpuTargetAttr
from ziggurat.lowering.dot2 import has_avx512bf16
from ziggurat.lowering.dot4 import has_vnni
from ziggurat.schedule.custom_templates import template_for
from ziggurat.schedule.dispatch import kernel_text, workload_key
from ziggurat.schedule.pack import packable_arguments
from ziggurat.schedule.space import Config, ConfigSpace
from ziggurat.schedule.templates import register_count
from ziggurat.schedule.tunable import kernel_space

BEFORE_SCHEDULES = DEFAULT_SCHEDULES[: DEFAULT_SCHEDULES.index("sched-default-schedule")]
"""The schedule passes that run before the templates (and so shape the kernels they see)."""


@dataclass(frozen=True)
class Argument:
    """A kernel argument as the task module binds it."""

    shape: tuple[int, ...]
    dtype: str
    role: str
    """"input", "output" or "param" (a constant weight, which templates may pack)."""


@dataclass
class Task:
    """One distinct kernel to tune: its key, how often the model launches it, its FLOPs per
    launch, its config space and the default config (the untuned choice)."""

    key: str
    name: str
    kernel_ir: str
    arguments: tuple[Argument, ...]
    weight: int
    flops: int
    space: ConfigSpace
    default: Config
    target: CpuTargetAttr
    lanes: int
    registers: int
    template_files: tuple[str, ...] = ()
    """Files of the registered template that schedules the kernel, if one does (a measuring
    worker imports them)."""
    kind: ClassVar[str] = "kernel"
    """What `module_text` holds: a kernel at the sched level ("kernel") or a graph-level
    module (`tune.graph_tasks`), which a worker builds from the graph passes on."""

    @property
    def config_space(self) -> ConfigSpace:
        return self.space

    def __str__(self) -> str:
        shapes = ", ".join("x".join(map(str, a.shape)) for a in self.arguments)
        return (
            f"{self.name} ({shapes}): weight {self.weight}, {self.flops / 1e6:.1f} MFLOP, "
            f"{len(self.space)} configs\n{self.space}"
        )

    def module_text(self) -> str:
        """The standalone module: the kernel and a `@main` that runs it in context. Each
        runtime input reaches the kernel through a copy kernel and each output leaves
        through one, as a model's neighbouring kernels would produce and consume them (their
        outermost loop shared among the cores): a config that splits the work among the
        cores differently from its neighbours pays, in this timing, the cache traffic it
        causes them in a model."""
        main_args, call_args, body, copies = [], [], [], []
        after: list[str] = []
        for n, argument in enumerate(self.arguments):
            memref = _memref(argument)
            if argument.role == "param":
                body.append(f'    %p{n} = sched.param "p{n}" : {memref}')
                call_args.append((f"%p{n}", memref))
                continue
            output = ", sched.output" if argument.role == "output" else ""
            main_args.append(f'%a{n}: {memref} {{graph.name = "a{n}"{output}}}')
            body.append(f"    %t{n} = sched.alloc : {memref}")
            call_args.append((f"%t{n}", memref))
            copies.append(_copy_kernel(f"copy_{n}", argument))
            source, destination = (f"%t{n}", f"%a{n}") if output else (f"%a{n}", f"%t{n}")
            call = f"    func.call @copy_{n}({source}, {destination}) : ({memref}, {memref}) -> ()"
            (after if output else body).append(call)
        operands = ", ".join(v for v, _ in call_args)
        types = ", ".join(t for _, t in call_args)
        body.append(f"    func.call @kernel({operands}) : ({types}) -> ()")
        return (
            "builtin.module {\n"
            + self.kernel_ir
            + "".join(copies)
            + f"  func.func @main({', '.join(main_args)}) {{\n"
            + "\n".join([*body, *after])
            + "\n    func.return\n  }\n}\n"
        )

    @property
    def product_rate(self) -> float:
        """How many times the f32 FMA rate the kernel's products run at on its target: 4 for
        `vpdpbusd` (64 byte multiply-adds an instruction against 16), 2 for `vdpbf16ps`, 1
        otherwise (the widened fallbacks), so its roofline bound is the machine's."""
        if "int8.dot4" in self.kernel_ir and has_vnni(self.target):
            return 4.0
        if "bf16.dot2" in self.kernel_ir and has_avx512bf16(self.target):
            return 2.0
        return 1.0

    @property
    def operand_bytes(self) -> int:
        """Bytes of the kernel's arguments."""
        return sum(math.prod(a.shape) * NUMPY_TYPES[a.dtype].itemsize for a in self.arguments)

    @property
    def context_bytes(self) -> int:
        """Bytes the copy kernels around the kernel read and write."""
        return sum(
            2 * math.prod(a.shape) * NUMPY_TYPES[a.dtype].itemsize
            for a in self.arguments
            if a.role != "param"
        )


def _memref(argument: Argument) -> str:
    return f"memref<{''.join(f'{d}x' for d in argument.shape)}{argument.dtype}>"


def _copy_kernel(name: str, argument: Argument) -> str:
    """A kernel copying a buffer of the argument's type, one loop per dimension."""
    memref = _memref(argument)
    indices = ", ".join(f"%i{d}" for d in range(len(argument.shape)))
    lines = [f"  func.func private @{name}(%src: {memref}, %dst: {memref}) {{"]
    for d, extent in enumerate(argument.shape):
        lines.append(f"{'  ' * (d + 2)}sched.for %i{d} = 0 to {extent} step 1 {{")
    depth = "  " * (len(argument.shape) + 2)
    lines.append(f"{depth}%v = sched.load %src[{indices}] : {memref}")
    lines.append(f"{depth}sched.store %v, %dst[{indices}] : {memref}")
    for d in reversed(range(len(argument.shape))):
        lines.append(f"{'  ' * (d + 2)}}}")
    lines += ["    func.return", "  }", ""]
    return "\n".join(lines)


NUMPY_TYPES = {str(t): np.dtype(name) for name, t in graph.NUMPY_ELEMENT_TYPES.items()}
"""numpy's dtype for each element type as the IR prints it (f32 -> float32)."""


def _arguments(kernel: func.FuncOp, constant: set[int]) -> tuple[Argument, ...]:
    written = {op.buffer for op in kernel.walk() if isinstance(op, sched.StoreOp)}
    found = []
    for n, arg in enumerate(kernel.body.block.args):
        assert isinstance(arg.type, MemRefType)
        role = "param" if n in constant else "output" if arg in written else "input"
        found.append(Argument(tuple(arg.type.get_shape()), str(arg.type.element_type), role))
    return tuple(found)


def extract_tasks(
    mod: ModuleOp,
    target: str | CpuTargetAttr = "llvm -mcpu=native",
    params: Mapping[str, np.ndarray] | None = None,
    opt_level: int = 3,
) -> list[Task]:
    """The tasks of a graph-dialect module (as from `from_onnx`), heaviest first (weight x
    FLOPs). Runs the graph passes, the lowering and the default schedules once, as a build
    does, without LLVM."""
    cpu = as_target(target)
    lanes, registers = cpu.vector_lanes(32), register_count(cpu)
    ctx = make_context({n: np.ascontiguousarray(v) for n, v in (params or {}).items()})
    module = mod.clone()
    module.attributes[CPU_ATTR] = cpu
    before = [*GRAPH_PASSES_BY_LEVEL[opt_level], *LOWERING, *BEFORE_SCHEDULES]
    PassManager.parse(",".join(before)).run(ctx, module)
    found: dict[str, Task] = {}
    key_of_kernel: dict[str, str] = {}
    for kernel in [op for op in module.ops if isinstance(op, func.FuncOp)]:
        if kernel.sym_visibility is None:
            continue
        constant = packable_arguments(kernel, module, ctx.params)
        text = kernel_text(kernel)
        key = workload_key(text, constant)
        key_of_kernel[kernel.sym_name.data] = key
        if key in found:
            continue
        space = kernel_space(kernel, lanes, registers, ctx.params)
        if space is None:
            continue
        found[key] = Task(
            key=key,
            name=kernel.sym_name.data,
            kernel_ir=text,
            arguments=_arguments(kernel, constant),
            weight=0,
            flops=0,
            space=space.space,
            default=space.default,
            target=cpu,
            lanes=lanes,
            registers=registers,
            template_files=tuple(t.source for t in [template_for(kernel)] if t is not None),
        )
    rest = DEFAULT_SCHEDULES[len(BEFORE_SCHEDULES) :]
    PassManager.parse(",".join([*rest, "convert-sched-to-target"])).run(ctx, module)
    launches = plan.plan_from_module(module, ctx.params)["launches"]
    for launch in launches:
        task = found.get(key_of_kernel.get(launch["kernel"], ""))
        if task is not None:
            task.weight += 1
            task.flops = int(launch["flops"])
    return sorted(found.values(), key=lambda t: -t.weight * t.flops)
