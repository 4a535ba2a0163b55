"""The compiler's side of `export_library`: the target facts a `.zgt` manifest records (so the
loader can refuse code this machine cannot run) and the object code linked as a shared object.

A build for another architecture cannot be linked with this machine's `cc`: it exports only
with a cross linker (`cc="aarch64-linux-gnu-gcc"`), or is written as an object file instead.
"""

import platform
from collections.abc import Sequence
from typing import Any

from ziggurat.core.targets import AVX2_CPUS, AVX512_CPUS
from ziggurat.dialects.target import CpuTargetAttr
from ziggurat.lowering.dot2 import has_avx512bf16
from ziggurat.lowering.dot4 import has_vnni
from ziggurat.runtime.errors import LinkError
from ziggurat.runtime.host import architecture
from ziggurat.runtime.linker import link_shared_object

AVX2_FEATURES = ("avx", "avx2", "fma")
AVX512_FEATURES = (*AVX2_FEATURES, "avx512f")


def required_features(cpu: CpuTargetAttr) -> list[str]:
    """LLVM features the code may use: those the feature string enables, and those its CPU
    name implies (`-mcpu=skylake-avx512` alone enables AVX-512), less those it disables."""
    listed = [f.strip() for f in cpu.features.data.split(",") if f.strip()]
    enabled = [f[1:] for f in listed if f.startswith("+")]
    disabled = {f[1:] for f in listed if f.startswith("-")}
    name = cpu.cpu.data
    implied = AVX512_FEATURES if name in AVX512_CPUS else AVX2_FEATURES if name in AVX2_CPUS else ()
    features = dict.fromkeys([*enabled, *(f for f in implied if f not in disabled)])
    if has_vnni(cpu):
        features["avx512vnni"] = None  # the int8 kernels' vpdpbusd
    if has_avx512bf16(cpu):
        features["avx512bf16"] = None  # the bf16 kernels' vdpbf16ps
    return list(features)


def target_info(cpu: CpuTargetAttr, target: str) -> dict[str, Any]:
    """The manifest's target record (runtime/package.py)."""
    return {
        "target": target,
        "triple": cpu.triple.data,
        "cpu": cpu.cpu.data,
        "features": required_features(cpu),
    }


def is_foreign(cpu: CpuTargetAttr) -> bool:
    """Whether code for `cpu` cannot run on this machine's architecture."""
    return architecture(cpu.triple.data.split("-", 1)[0]) != architecture(platform.machine())


class CompiledCode:
    """A build's machine code as `Module.export_library` takes it (runtime.module.NativeCode)."""

    def __init__(
        self,
        objects: Sequence[bytes],
        cpu: CpuTargetAttr,
        target: str,
        libraries: Sequence[str],
    ):
        self.objects = list(objects)
        self.cpu = cpu
        self.libraries = tuple(libraries)
        self.target = target_info(cpu, target)

    def shared_object(self, cc: str | None = None) -> bytes:
        if cc is None and is_foreign(self.cpu):
            raise LinkError(
                f"cannot link code for {self.cpu.triple.data} with this "
                f"{platform.machine()} machine's linker: pass a cross linker (cc=, or --cc "
                "on the command line, e.g. aarch64-linux-gnu-gcc), or write an object file "
                "(.o) and link it on the target"
            )
        return link_shared_object(self.objects, self.libraries, cc)
