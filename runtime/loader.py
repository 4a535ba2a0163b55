"""`load_module`: a `.zgt` file back into a runnable Module, with numpy and ctypes only.

The shared object is written to a temporary file, opened with dlopen (its libgomp and libm
come in as its own dependencies) and the file unlinked at once; the library stays open for
the life of the process, since unloading code whose addresses were handed out (or whose
OpenMP threads still run) would crash.
"""

import ctypes
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ziggurat.runtime.errors import PackageError, PlanError, RuntimeModuleError
from ziggurat.runtime.host import check_host
from ziggurat.runtime.module import Module
from ziggurat.runtime.package import Package, read_package
from ziggurat.runtime.profiled_module import ProfiledModule
from ziggurat.runtime.variant_inputs import VariantInputs
from ziggurat.runtime.variant_package import (
    VARIANTS_FORMAT_VERSION,
    package_format_version,
    read_variant_package,
)


class SharedLibrary:
    """A shared object opened from its bytes; function addresses by name."""

    def __init__(self, data: bytes, source: str):
        fd, path = tempfile.mkstemp(prefix="ziggurat-", suffix=".so")
        try:
            with os.fdopen(fd, "wb") as stream:
                stream.write(data)
            self.handle = ctypes.CDLL(path, mode=ctypes.RTLD_LOCAL)
        except OSError as err:
            raise PackageError(f"cannot load the machine code in {source}: {err}") from err
        finally:
            os.unlink(path)

    def address(self, name: str) -> int:
        """The address of function `name`, or 0 if the library has none."""
        try:
            function = self.handle[name]
        except AttributeError:
            return 0
        return ctypes.cast(function, ctypes.c_void_p).value or 0


class LoadedCode:
    """The machine code of a loaded `.zgt`, ready to export again as it is."""

    def __init__(self, shared_object: bytes, target: dict[str, Any]):
        self._shared_object = shared_object
        self.target = target

    def shared_object(self, cc: str | None = None) -> bytes:
        return self._shared_object


def load_module(path: str | Path) -> Module | ProfiledModule:
    """The Module a `.zgt` file holds, for `GraphModule` (for a file of shape profiles, a
    ProfiledModule of its variants). Raises PackageError for a missing, truncated or corrupt
    file and HostMismatchError for code this machine cannot run."""
    if package_format_version(path) == VARIANTS_FORMAT_VERSION:
        return _load_variants(path)
    package = read_package(path)
    check_host(package.target, str(path))
    return _module(package, str(path))


def _module(package: Package, source: str) -> Module:
    library = SharedLibrary(package.shared_object, source)
    try:
        return Module(
            package.plan,
            package.params,
            library.address,
            keepalive=library,
            target=package.target["target"],
            native=LoadedCode(package.shared_object, package.target),
        )
    except PlanError as err:
        raise PackageError(f"{source} holds a plan the runtime cannot run: {err}") from err


def _load_variants(path: str | Path) -> ProfiledModule:
    contents = read_variant_package(path)
    check_host(contents.target, str(path))
    signature = VariantInputs(contents.inputs, contents.shape_inputs)
    variants = []
    for index, variant in enumerate(contents.variants):
        module = _module(variant.package, f"{path} variant {index}")
        fed = set(module.input_names) | set(contents.shape_inputs)
        if fed != set(signature.names) or module.output_names != list(contents.outputs):
            raise PackageError(
                f"{path} variant {index} does not take the model's inputs and outputs"
            )
        buffers = module.plan["buffers"]
        for name, buffer in zip(module.input_names, module.plan["inputs"], strict=True):
            if tuple(buffers[buffer]["shape"]) != variant.shapes[name]:
                raise PackageError(
                    f"{path} variant {index} declares input {name!r} of shape "
                    f"{list(variant.shapes[name])} but its plan takes {buffers[buffer]['shape']}"
                )
        feeds = {
            spec.name: variant.values.get(
                spec.name, np.zeros(variant.shapes[spec.name], spec.dtype)
            )
            for spec in contents.inputs
        }
        variants.append((feeds, module))
    try:
        return ProfiledModule(signature, contents.outputs, variants, contents.target["target"])
    except RuntimeModuleError as err:
        raise PackageError(f"{path} holds a variant its inputs contradict: {err}") from err
