"""One candidate of a task: its kernel built with a config, checked and timed.

The wire form of a task (`task_spec`) is plain JSON: the task module's text, its arguments,
the target string and the default config, so a worker process (or another machine) rebuilds
the kernel itself; no compiler object is ever pickled.
"""

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.parser import Parser

from ziggurat.backend.compile import build, compile_target_module
from ziggurat.core.context import CompilerContext, ir_text, make_context
from ziggurat.core.pass_manager import PassManager
from ziggurat.core.pipelines import DEFAULT_SCHEDULES
from ziggurat.core.targets import as_target, target_string
from ziggurat.dialects.target import CPU_ATTR
from ziggurat.runtime import GraphModule
from ziggurat.runtime.benchmark import measure
from ziggurat.schedule.custom_templates import load_template_files
from ziggurat.schedule.dispatch import use_configs
from ziggurat.schedule.loop_transforms import ScheduleError
from ziggurat.schedule.schedule import TRACE_ATTR
from ziggurat.schedule.space import Config
from ziggurat.tune.tasks import NUMPY_TYPES, Task

AFTER_TEMPLATES = [
    *DEFAULT_SCHEDULES[DEFAULT_SCHEDULES.index("sched-default-schedule") + 1 :],
    "convert-sched-to-target",
]
"""What a candidate's build runs on the task module after the templates."""


class InstantiationError(Exception):
    """The config does not apply to the kernel."""


def task_spec(task: Task) -> dict[str, Any]:
    """The task as JSON-ready data, all a worker needs to build and check its candidates."""
    return {
        "key": task.key,
        "name": task.name,
        "module": task.module_text(),
        "arguments": [[list(a.shape), a.dtype, a.role] for a in task.arguments],
        "target": target_string(task.target),
        "default": dict(task.default),
        "flops": task.flops,
        "templates": list(task.template_files),
        "kind": task.kind,
    }


@dataclass
class Candidate:
    runner: GraphModule
    trace: str
    kernel_hash: str
    """sha256 of the scheduled kernel's printed IR (what replaying `trace` reproduces)."""
    inputs: dict[str, np.ndarray]
    output_names: list[str]
    phases: dict[str, float]
    """Seconds the build spent parsing and scheduling ("schedule"), lowering the scheduled
    loops to the target level ("lower"), and in the backend ("backend": target to LLVM
    dialect, LLVM IR, LLVM's optimization and code generation, loading)."""


def random_feeds(
    spec: Mapping[str, Any], seed: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(runtime inputs, constant weights) for the task module, random and seeded."""
    rng = np.random.default_rng(seed)
    inputs: dict[str, np.ndarray] = {}
    weights: dict[str, np.ndarray] = {}
    for n, (shape, dtype, role) in enumerate(spec["arguments"]):
        if role == "output":
            continue
        value = rng.standard_normal(shape).astype(NUMPY_TYPES[dtype])
        (weights if role == "param" else inputs)[f"{'p' if role == 'param' else 'a'}{n}"] = value
    return inputs, weights


def parse_task_module(
    spec: Mapping[str, Any], weights: Mapping[str, np.ndarray]
) -> tuple[CompilerContext, ModuleOp]:
    """The task module parsed in a context holding `weights`, its target set."""
    ctx = make_context(dict(weights))
    module = Parser(ctx, spec["module"]).parse_module()
    module.attributes[CPU_ATTR] = as_target(spec["target"])
    return ctx, module


def task_kernel(module: ModuleOp) -> func.FuncOp:
    """The task module's kernel (named `@kernel`, as `kernel_text` names it)."""
    return next(
        op for op in module.ops if isinstance(op, func.FuncOp) and op.sym_name.data == "kernel"
    )


def build_candidate(spec: Mapping[str, Any], config: Config, seed: int = 0) -> Candidate:
    """Builds the task's kernel with `config`; InstantiationError if the config does not
    apply, any other exception if the build fails."""
    if spec.get("kind") == "graph":
        return build_graph_candidate(spec, config, seed)
    load_template_files(spec.get("templates", []))
    start = time.perf_counter()
    inputs, weights = random_feeds(spec, seed)
    ctx, module = parse_task_module(spec, weights)
    cpu = as_target(spec["target"])
    try:
        with use_configs({spec["key"]: config}, strict=True):
            PassManager.parse("sched-default-schedule").run(ctx, module)
    except Exception as err:
        cause = err if isinstance(err, ScheduleError) else err.__cause__
        if isinstance(cause, ScheduleError):
            raise InstantiationError(str(cause)) from err
        raise
    kernel = task_kernel(module)
    trace = kernel.attributes.get(TRACE_ATTR)
    kernel_hash = scheduled_kernel_hash(kernel)
    scheduled = time.perf_counter()
    PassManager.parse(",".join(AFTER_TEMPLATES)).run(ctx, module)
    lowered = time.perf_counter()
    lib = compile_target_module(module, ctx, cpu)
    runner = GraphModule(lib)
    phases = {
        "schedule": scheduled - start,
        "lower": lowered - scheduled,
        "backend": time.perf_counter() - lowered,
    }
    text = trace.data if isinstance(trace, StringAttr) else ""
    return Candidate(runner, text, kernel_hash, inputs, list(lib.output_names), phases)


def build_graph_candidate(spec: Mapping[str, Any], config: Config, seed: int = 0) -> Candidate:
    """Builds a graph task's module (`tune.graph_tasks`) as a model, its choice set by
    `config`: every kernel it leads to gets its default schedule. The code cache is left
    alone (a candidate is built once)."""
    start = time.perf_counter()
    inputs, weights = random_feeds(spec, seed)
    module = Parser(make_context(), spec["module"]).parse_module()
    with use_configs({spec["key"]: config}, strict=True):
        lib = build(module, spec["target"], weights, opt_level=3, use_cache=False)
    built = hashlib.sha256(f"{spec['module']}{sorted(config.items())}".encode()).hexdigest()
    phases = {"build": time.perf_counter() - start}
    return Candidate(GraphModule(lib), str(config), built, inputs, list(lib.output_names), phases)


def scheduled_kernel_hash(kernel: func.FuncOp) -> str:
    return hashlib.sha256(ir_text(kernel).encode()).hexdigest()


def outputs_of(candidate: Candidate) -> list[np.ndarray]:
    candidate.runner.run(**candidate.inputs)
    return [candidate.runner.get_output(name).copy() for name in candidate.output_names]


def time_candidate(
    candidate: Candidate, number: int, repeat: int, min_repeat_ms: float
) -> tuple[float, ...]:
    """Seconds per run, one per repeat, after warm-up runs (AutoTVM's number, repeat and
    min_repeat_ms: `number` grows until a repeat lasts `min_repeat_ms`)."""
    runner = candidate.runner
    for name, value in candidate.inputs.items():
        runner.set_input(name, value)
    result = measure(runner.run, repeat=repeat, number=number, min_repeat_ms=min_repeat_ms)
    return result.results
