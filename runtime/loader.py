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

from ziggurat.runtime.errors import PackageError, PlanError
from ziggurat.runtime.host import check_host
from ziggurat.runtime.module import Module
from ziggurat.runtime.package import read_package


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


def load_module(path: str | Path) -> Module:
    """The Module a `.zgt` file holds, for `GraphModule`. Raises PackageError for a missing,
    truncated or corrupt file and HostMismatchError for code this machine cannot run."""
    package = read_package(path)
    check_host(package.target, str(path))
    library = SharedLibrary(package.shared_object, str(path))
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
        raise PackageError(f"{path} holds a plan the runtime cannot run: {err}") from err
