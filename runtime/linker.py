"""Object code to a shared object with the system linker (`cc -shared`), as TVM's
export_library does: the compiler emits a relocatable object, the C toolchain links it.

Kernels and the entry become exported symbols. `-Bsymbolic` binds the calls between them
inside the library (a process symbol of the same name cannot interpose), and `-z defs` turns
a symbol nobody provides into a link error rather than a crash when a kernel first runs.
"""

import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ziggurat.runtime.errors import LinkError

DEFAULT_LINKERS = ("cc", "gcc", "clang")


def linker_command(cc: str | None = None) -> list[str]:
    """The linker to run: `cc` if given, else $CC, else the first of cc, gcc, clang on PATH."""
    spec = cc or os.environ.get("CC")
    if spec is None:
        found = next((name for name in DEFAULT_LINKERS if shutil.which(name)), None)
        if found is None:
            raise LinkError(
                "exporting needs a C compiler to link the shared object, and none of "
                f"{', '.join(DEFAULT_LINKERS)} is on PATH: install gcc or clang, or set CC"
            )
        return [found]
    command = shlex.split(spec)
    if not command or shutil.which(command[0]) is None:
        raise LinkError(f"the linker {spec!r} is not on PATH (given by cc=, --cc or $CC)")
    return command


def link_shared_object(
    object_code: bytes | Sequence[bytes], libraries: Sequence[str] = ("m",), cc: str | None = None
) -> bytes:
    """Links `object_code` (one object, or several) against `libraries` (names as for -l)
    into shared-object bytes."""
    command = linker_command(cc)
    objects = [object_code] if isinstance(object_code, bytes) else list(object_code)
    with tempfile.TemporaryDirectory(prefix="ziggurat-link-") as folder:
        library = Path(folder) / "model.so"
        sources = [Path(folder) / f"unit{n}.o" for n in range(len(objects))]
        for source, code in zip(sources, objects, strict=True):
            source.write_bytes(code)
        arguments = [
            *command,
            "-shared",
            "-o",
            str(library),
            *(str(source) for source in sources),
            "-Wl,-Bsymbolic",
            "-Wl,-z,defs",
            *(f"-l{name}" for name in libraries),
        ]
        try:
            result = subprocess.run(arguments, capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as err:
            raise LinkError(f"cannot run the linker {command[0]!r}: {err}") from err
        if result.returncode != 0:
            detail = " ".join(result.stderr.split())[:400]
            raise LinkError(
                f"{command[0]} could not link the shared object (exit {result.returncode}): "
                f"{detail}"
            )
        return library.read_bytes()
