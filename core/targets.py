"""Target strings (`"llvm -mcpu=native"`, TVM's syntax) to `#target.cpu` attributes, and the
facts about the host they need: its triple, CPU, features and physical cores."""

import os
import shlex
from functools import cache

from ziggurat.core.errors import CompileError
from ziggurat.dialects.target import CpuTargetAttr

AVX512_CPUS = {
    "skylake-avx512", "cascadelake", "cooperlake", "cannonlake", "icelake-client",
    "icelake-server", "tigerlake", "rocketlake", "sapphirerapids", "emeraldrapids",
    "graniterapids", "graniterapids-d", "diamondrapids", "znver4", "znver5", "x86-64-v4",
    "knl", "knm",
}  # fmt: skip
AVX2_CPUS = {
    "haswell", "broadwell", "skylake", "alderlake", "raptorlake", "meteorlake", "arrowlake",
    "lunarlake", "gracemont", "znver1", "znver2", "znver3", "x86-64-v3", "bdver4",
}  # fmt: skip

OPTIONS = ("-mtriple", "-mcpu", "-mattr", "-num-cores")


@cache
def host_cpu() -> tuple[str, str, str]:
    """(triple, cpu name, feature string) of this machine, as LLVM sees it."""
    import llvmlite.binding as llvm

    llvm.initialize_native_target()
    features = llvm.get_host_cpu_features().flatten()
    return llvm.get_process_triple(), llvm.get_host_cpu_name(), features


@cache
def physical_cores() -> int:
    """Cores this process may run on, counting hyperthread siblings once."""
    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    cores: set[str] = set()
    for cpu in allowed:
        path = f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list"
        try:
            with open(path) as siblings:
                cores.add(siblings.read().strip())
        except OSError:
            cores.add(str(cpu))
    return len(cores) or os.cpu_count() or 1


def vector_bits(arch: str, cpu: str, features: str) -> int:
    """The SIMD register width the features (or, without them, the CPU name) provide."""
    enabled = {f[1:] for f in features.split(",") if f.startswith("+")}
    disabled = {f[1:] for f in features.split(",") if f.startswith("-")}
    if arch in ("x86_64", "i686", "i386"):
        if "avx512f" in enabled or (cpu in AVX512_CPUS and "avx512f" not in disabled):
            return 512
        if enabled & {"avx", "avx2"} or (cpu in AVX2_CPUS | AVX512_CPUS and "avx" not in disabled):
            return 256
        return 128
    if arch in ("aarch64", "arm64", "armv7", "arm"):
        return 128
    return 128


def vector_lanes(cpu: CpuTargetAttr, element_bits: int = 32) -> int:
    """Elements of `element_bits` in one SIMD register of the CPU: 16 fp32 lanes with
    AVX-512, 8 with AVX/AVX2, 4 with SSE or NEON. Schedules size their vector loops by it."""
    return cpu.vector_lanes(element_bits)


def parse_target(spec: str) -> CpuTargetAttr:
    """`llvm [-mtriple=T] [-mcpu=C|native] [-mattr=+f,-g] [-num-cores=N]` as #target.cpu.

    Plain `llvm` means this machine's triple with a generic CPU; `-mcpu=native` takes this
    machine's CPU and features. Cores default to this machine's physical cores.
    """
    try:
        words = shlex.split(spec)
    except ValueError as err:
        raise CompileError(f"bad target string {spec!r}: {err}") from err
    if not words or words[0] != "llvm":
        raise CompileError(
            f"target string {spec!r} must start with 'llvm' (e.g. 'llvm -mcpu=native')."
        )
    options: dict[str, str] = {}
    for word in words[1:]:
        key, _, value = word.partition("=")
        if key not in OPTIONS or not value:
            raise CompileError(
                f"unknown target option {word!r} in {spec!r}; expected {', '.join(o + '=...' for o in OPTIONS)}."
            )
        options[key] = value
    host_triple, host_name, host_features = host_cpu()
    triple = options.get("-mtriple", host_triple)
    cpu = options.get("-mcpu", "generic")
    features = options.get("-mattr", "")
    if cpu == "native":
        if triple != host_triple:
            raise CompileError(f"-mcpu=native needs the host triple, not {triple!r}.")
        cpu = host_name
        features = ",".join(f for f in (host_features, features) if f)
    try:
        cores = int(options.get("-num-cores", physical_cores()))
    except ValueError as err:
        raise CompileError(f"-num-cores must be an integer in {spec!r}.") from err
    arch = triple.split("-", 1)[0]
    return CpuTargetAttr(triple, cpu, features, vector_bits(arch, cpu, features), max(1, cores))


def as_target(target: str | CpuTargetAttr) -> CpuTargetAttr:
    return target if isinstance(target, CpuTargetAttr) else parse_target(target)


def feature_enabled(cpu: CpuTargetAttr, feature: str, implied: bool) -> bool:
    """Whether `feature` is on for `cpu`: the last +/- mention of it in the feature string,
    else `implied` (what the CPU name says)."""
    state = implied
    for entry in cpu.features.data.split(","):
        entry = entry.strip()
        if entry[1:] == feature and entry[:1] in "+-":
            state = entry[0] == "+"
    return state


def target_string(cpu: CpuTargetAttr) -> str:
    """The target string that `parse_target` reads back into `cpu`."""
    text = f"llvm -mtriple={cpu.triple.data} -mcpu={cpu.cpu.data} -num-cores={cpu.cores.data}"
    if cpu.features.data:
        text += f" -mattr={cpu.features.data}"
    return text
