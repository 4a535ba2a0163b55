"""Templates written by users, AutoTVM style: one function both defines the knobs and
applies the chosen values with the schedule primitives.

    @register_template("tiled_dense", matches=is_dense)
    def tiled_dense(cfg: Knobs, s: Schedule) -> None:
        rows = cfg.define_split("tile_rows", s.loop("i0").trip_count, max_factor=16)
        io, ii = s.split("i0", rows)
        cfg.annotate("inner", ii, ["none", "unroll"])
        ...

A registered template replaces the default templates on every kernel `matches` accepts
(a predicate over the kernel's loops; kernel names do not survive into tuning tasks). Its
space is collected by running it once on a copy of the kernel with every knob at its
default (the first value, or the one given); its default config is that point. The tuner
then searches the space like a built-in one, and the measuring worker imports the file the
template came from, so the template must be defined at the top level of a module file (a
plugin given to `--load-plugin`, or any importable file).
"""

import hashlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.rewriter import Rewriter

from ziggurat.schedule import loop_transforms as lt
from ziggurat.schedule.schedule import Schedule
from ziggurat.schedule.space import Config, ConfigSpace, KnobValue

ANNOTATIONS = ("none", "unroll", "vectorize", "parallel")
"""What `Knobs.annotate` may do to a loop: leave it, or mark it with that kind."""


class Knobs:
    """The knobs a template defines and the values it gets: while the space is collected,
    each knob's default; when a config is applied, the config's value."""

    def __init__(self, space: ConfigSpace, config: Config | None = None):
        self.space = space
        self.config = config
        self.defaults: dict[str, KnobValue] = {}
        self.schedule: Schedule | None = None

    def define_knob(
        self, name: str, values: Sequence[KnobValue], default: KnobValue | None = None
    ) -> KnobValue:
        """A knob taking one of `values`; returns the value to use now."""
        if self.config is None:
            self.space.define_knob(name, values)
            chosen = values[0] if default is None else default
            if chosen not in values:
                raise ValueError(f"knob '{name}': default {chosen!r} is not one of its values")
            self.defaults[name] = chosen
            return chosen
        if name not in self.config:
            raise lt.ScheduleError(f"the config has no knob '{name}'.")
        return self.config[name]

    def define_split(
        self, name: str, extent: int, max_factor: int | None = None, default: int | None = None
    ) -> int:
        """A knob over the factors of `extent` (up to `max_factor`): the inner size of a split
        with no remainder; returns the factor to use now."""
        top = min(extent, max_factor or extent)
        factors = [f for f in range(1, top + 1) if extent % f == 0]
        return int(self.define_knob(name, factors, default))

    def annotate(self, name: str, loop: str, kinds: Sequence[str] = ANNOTATIONS) -> str:
        """A knob choosing what to do with `loop` (`ANNOTATIONS`), applied to the schedule."""
        unknown = [k for k in kinds if k not in ANNOTATIONS]
        if unknown:
            raise ValueError(
                f"annotation '{name}': unknown kinds {unknown}; kinds are {ANNOTATIONS}"
            )
        kind = str(self.define_knob(name, list(kinds)))
        if kind != "none":
            assert self.schedule is not None
            getattr(self.schedule, kind)(loop)
        return kind


TemplateBody = Callable[[Knobs, Schedule], None]


@dataclass(frozen=True)
class Template:
    name: str
    matches: Callable[[func.FuncOp], bool]
    body: TemplateBody
    source: str
    """The file the template was defined in (imported by measuring workers)."""


TEMPLATES: dict[str, Template] = {}


def register_template(
    name: str, matches: Callable[[func.FuncOp], bool]
) -> Callable[[TemplateBody], TemplateBody]:
    """Registers the decorated function as the template of the kernels `matches` accepts."""

    def register(body: TemplateBody) -> TemplateBody:
        if name in TEMPLATES and TEMPLATES[name].body.__qualname__ != body.__qualname__:
            raise ValueError(f"a template named '{name}' is registered already")
        TEMPLATES[name] = Template(name, matches, body, inspect.getfile(body))
        return body

    return register


def template_for(kernel: func.FuncOp) -> Template | None:
    """The first registered template that accepts the kernel."""
    return next((t for t in TEMPLATES.values() if t.matches(kernel)), None)


def load_template_files(paths: Sequence[str]) -> None:
    """Imports the files templates came from (in a measuring worker), each once."""
    for path in paths:
        digest = hashlib.sha1(str(Path(path).resolve()).encode()).hexdigest()[:12]
        module_name = f"ziggurat_templates_{Path(path).stem}_{digest}"
        if module_name in sys.modules:
            continue
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import templates from {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)


def collect_space(
    template: Template, kernel: func.FuncOp, params: dict[str, np.ndarray]
) -> tuple[ConfigSpace, Config]:
    """The template's space and default config, from one run on a copy of the kernel."""
    space = ConfigSpace()
    knobs = Knobs(space)
    schedule = Schedule(kernel.clone(), dict(params))
    knobs.schedule = schedule
    template.body(knobs, schedule)
    return space, Config.of(knobs.defaults)


def apply_template(
    template: Template,
    kernel: func.FuncOp,
    params: dict[str, np.ndarray],
    config: Config | None,
) -> Schedule:
    """Runs the template on a copy of the kernel with `config` (its default when None) and
    puts the copy in the kernel's place; the kernel stays as it was if a primitive fails
    (the ScheduleError propagates)."""
    module = kernel.parent_op()
    assert isinstance(module, ModuleOp)
    if config is None:
        _, config = collect_space(template, kernel, params)
    trial = Schedule(kernel.clone(), params)
    knobs = Knobs(ConfigSpace(), config)
    knobs.schedule = trial
    template.body(knobs, trial)
    Rewriter.replace_op(kernel, trial.kernel)
    trial.bind_packs(module)
    trial.config = config
    return trial
