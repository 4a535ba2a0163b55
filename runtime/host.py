"""Can this machine run code compiled for a target? Its architecture against the target's
triple, and its CPU flags (from /proc/cpuinfo, since the runtime cannot ask LLVM) against the
LLVM features the code may use.

Only features that the code generator can turn into instructions are checked; LLVM features
with no such use (rdseed, shstk, ...) are ignored, because virtual machines often hide their
flags while the instructions that matter still work.
"""

import platform
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from ziggurat.runtime.errors import HostMismatchError

# LLVM feature name -> /proc/cpuinfo flag, where the two differ or the feature matters.
X86_FLAGS = {
    "sse": "sse", "sse2": "sse2", "sse3": "pni", "ssse3": "ssse3", "sse4.1": "sse4_1",
    "sse4.2": "sse4_2", "sse4a": "sse4a", "avx": "avx", "avx2": "avx2", "fma": "fma",
    "fma4": "fma4", "f16c": "f16c", "bmi": "bmi1", "bmi2": "bmi2", "lzcnt": "abm",
    "popcnt": "popcnt", "movbe": "movbe", "cx16": "cx16", "aes": "aes", "pclmul": "pclmulqdq",
    "vaes": "vaes", "vpclmulqdq": "vpclmulqdq", "gfni": "gfni", "sha": "sha_ni", "adx": "adx",
    "avx512f": "avx512f", "avx512dq": "avx512dq", "avx512cd": "avx512cd",
    "avx512bw": "avx512bw", "avx512vl": "avx512vl", "avx512ifma": "avx512ifma",
    "avx512vbmi": "avx512vbmi", "avx512vbmi2": "avx512_vbmi2", "avx512vnni": "avx512_vnni",
    "avx512bf16": "avx512_bf16", "avx512fp16": "avx512_fp16", "avx512bitalg": "avx512_bitalg",
    "avx512vpopcntdq": "avx512_vpopcntdq", "avx512vp2intersect": "avx512_vp2intersect",
    "avxvnni": "avx_vnni", "amx-tile": "amx_tile", "amx-int8": "amx_int8",
    "amx-bf16": "amx_bf16",
}  # fmt: skip
AARCH64_FLAGS = {
    "neon": "asimd", "fp-armv8": "fp", "crc": "crc32", "aes": "aes", "sha2": "sha2",
    "dotprod": "asimddp", "fullfp16": "fphp", "i8mm": "i8mm", "bf16": "bf16", "sve": "sve",
    "sve2": "sve2", "lse": "atomics",
}  # fmt: skip
ARCHITECTURES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}


def architecture(name: str) -> str:
    """The canonical name of an architecture, from a triple's first part or platform.machine()."""
    return ARCHITECTURES.get(name.lower(), name.lower())


@cache
def cpu_flags() -> frozenset[str] | None:
    """This machine's CPU flags, or None where /proc/cpuinfo does not list them."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                if key.strip() in ("flags", "Features"):
                    return frozenset(value.split())
    except OSError:
        return None
    return None


def missing_features(features: Iterable[str], arch: str, flags: frozenset[str] | None) -> list[str]:
    """The LLVM features among `features` that `flags` (a CPU's flags) lack."""
    table = {"x86_64": X86_FLAGS, "aarch64": AARCH64_FLAGS}.get(arch, {})
    if flags is None:
        return []
    return [f for f in features if f in table and table[f] not in flags]


def check_host(target: Mapping[str, Any], source: str) -> None:
    """Raises HostMismatchError if this machine cannot run code compiled for `target`."""
    wanted = architecture(str(target["triple"]).split("-", 1)[0])
    here = architecture(platform.machine())
    if wanted != here:
        raise HostMismatchError(
            f"{source} was compiled for {target['triple']}; this machine is {here}"
        )
    missing = missing_features(target["features"], here, cpu_flags())
    if missing:
        raise HostMismatchError(
            f"{source} was compiled for CPU features this machine lacks: {', '.join(missing)} "
            f"(target {target['target']!r}); compile it again for this machine, e.g. with "
            "--target 'llvm -mcpu=native'"
        )
