"""Plugins: a user's own passes and dialects, registered without editing Ziggurat.

In a file or package of your own:

    from ziggurat.plugins import register_pass

    @register_pass
    @dataclass(frozen=True)
    class MyPass(ModulePass):
        name = "my-pass"
        ...

then `ziggurat-opt --load-plugin my_pass.py -p my-pass in.mlir`, or declare the module in your
package's `[project.entry-points."ziggurat.plugins"]` to have it loaded every time. A plugin
may also register a tunable schedule template (`register_template`, see
`ziggurat.schedule.custom_templates`); `ziggurat tune`, `compile`, `run` and `bench` take
`--load-plugin` too.
"""

import hashlib
import importlib
import importlib.util
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import TypeVar

from xdsl.ir import Dialect
from xdsl.passes import ModulePass

from ziggurat.core import registry
from ziggurat.core.errors import ZigguratError
from ziggurat.schedule.custom_templates import Knobs, register_template

__all__ = [
    "Knobs",
    "load_entry_point_plugins",
    "load_plugin",
    "register_dialect",
    "register_pass",
    "register_template",
]

ENTRY_POINT_GROUP = "ziggurat.plugins"

PassT = TypeVar("PassT", bound=type[ModulePass])


def register_pass(cls: PassT) -> PassT:
    """Class decorator: makes the pass available by its `name` in pipelines."""
    try:
        registry.register_pass(cls.name, lambda: cls)
    except ValueError as err:
        raise ZigguratError(f"cannot register pass {cls.__name__}: {err}") from err
    return cls


def register_dialect(dialect: Dialect) -> Dialect:
    """Makes a dialect known to `ziggurat-opt` and to `ziggurat.core.context.make_context`."""
    try:
        registry.register_dialect(dialect)
    except ValueError as err:
        raise ZigguratError(str(err)) from err
    return dialect


def load_plugin(spec: str) -> None:
    """Imports a plugin given as a path to a .py file or as a module name."""
    path = Path(spec)
    try:
        if path.suffix == ".py" or path.exists():
            if not path.is_file():
                raise ZigguratError(f"plugin file {spec} does not exist")
            digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
            name = f"ziggurat_plugin_{path.stem}_{digest}"
            if name in sys.modules:
                return
            module_spec = importlib.util.spec_from_file_location(name, path)
            assert module_spec is not None and module_spec.loader is not None
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[name] = module
            module_spec.loader.exec_module(module)
        else:
            importlib.import_module(spec)
    except ZigguratError:
        raise
    except Exception as err:
        raise ZigguratError(f"cannot load plugin {spec}: {type(err).__name__}: {err}") from err


def load_entry_point_plugins() -> None:
    """Loads every installed plugin declared in the `ziggurat.plugins` entry-point group;
    an entry point naming a function is called."""
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = entry.load()
        except Exception as err:
            raise ZigguratError(f"cannot load plugin {entry.name} ({entry.value}): {err}") from err
        if callable(loaded):
            loaded()
