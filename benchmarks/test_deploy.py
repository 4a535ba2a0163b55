"""Deploy figures: the AOT entry's per-run saving over per-kernel dispatch (MLP batch 1), the
memory plan's bytes against one allocation per intermediate, and export/load times."""

import time
from pathlib import Path

import numpy as np
import pytest

import ziggurat
from benchmarks.models.mobilenet import mobilenet_v2
from benchmarks.models.resnet import resnet18
from ziggurat.examples import mlp_model
from ziggurat.runtime import GraphModule, load_module


def _build(model) -> ziggurat.runtime.Module:
    module, params = ziggurat.from_onnx(model)
    return ziggurat.build(module, target="llvm -mcpu=native", params=params, opt_level=3)


def _interleaved_medians(first, second, runs: int = 3000, warmup: int = 100) -> tuple[float, float]:
    """Median seconds of two callables timed in alternation, so that a busy spell on the
    shared machine weighs on both alike."""
    clock = time.perf_counter
    samples = np.empty((runs, 2))
    for n in range(runs + warmup):
        start = clock()
        first()
        middle = clock()
        second()
        if n >= warmup:
            samples[n - warmup] = (middle - start, clock() - middle)
    return float(np.median(samples[:, 0])), float(np.median(samples[:, 1]))


def test_entry_against_per_kernel_dispatch(benchmark, report, tmp_path: Path) -> None:
    lib = load_module(_build(mlp_model(1)).export_library(tmp_path / "mlp.zgt"))
    x = np.random.default_rng(0).standard_normal((1, 784)).astype(np.float32)
    entry, kernels = GraphModule(lib), GraphModule(lib, use_entry=False)
    for runner in (entry, kernels):
        runner.set_input("input", x)
    by_entry, by_kernels = _interleaved_medians(entry.run, kernels.run)
    np.testing.assert_allclose(entry.get_output(0), kernels.get_output(0), rtol=1e-6)
    launches = len(lib.plan["launches"])
    saving = by_kernels - by_entry
    benchmark.extra_info.update(
        {"entry_us": by_entry * 1e6, "per_kernel_us": by_kernels * 1e6, "launches": launches}
    )
    benchmark.pedantic(entry.run, rounds=50, iterations=10, warmup_rounds=2)
    report.append(
        f"MLP b1 (loaded .zgt): entry {by_entry * 1e6:.1f} us | per-kernel {by_kernels * 1e6:.1f}"
        f" us | saving {saving * 1e6:.1f} us per run, {saving * 1e6 / launches:.2f} us per "
        f"launch ({launches} launches)"
    )


@pytest.mark.parametrize("name, builder", [("ResNet-18", resnet18), ("MobileNetV2", mobilenet_v2)])
def test_memory_plan_and_export(benchmark, report, tmp_path: Path, name: str, builder) -> None:
    lib = _build(builder())
    memory = lib.memory_report()
    started = time.perf_counter()
    path = lib.export_library(tmp_path / "model.zgt")
    exported = time.perf_counter()
    loaded = benchmark.pedantic(load_module, args=(path,), rounds=3, iterations=1)
    load_seconds = benchmark.stats.stats.median
    benchmark.extra_info.update(
        {"planned_bytes": memory.planned_bytes, "naive_bytes": memory.naive_bytes}
    )
    assert memory.planned_bytes <= memory.naive_bytes and loaded.plan == lib.plan
    mib = 1 << 20
    report.append(
        f"{name}: intermediates {memory.planned_bytes / mib:.2f} MiB planned vs "
        f"{memory.naive_bytes / mib:.2f} MiB naive ({memory.saving:.0%} saved, "
        f"{memory.intermediates} buffers) | export {exported - started:.2f} s, load "
        f"{load_seconds * 1e3:.0f} ms, {path.stat().st_size / mib:.1f} MiB file"
    )
