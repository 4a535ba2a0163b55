"""export_library from a build: the round trip in process, what the plan carries (flops,
memory plan), cross-compiling, and exports that must fail cleanly."""

import platform
from pathlib import Path

import numpy as np
import pytest
from deploy_support import build, random_inputs, run_in_process
from models import mlp_model

from ziggurat.backend.export import required_features
from ziggurat.core.targets import parse_target
from ziggurat.runtime import GraphModule, HostMismatchError, LinkError, Module, load_module
from ziggurat.runtime.host import X86_FLAGS, cpu_flags
from ziggurat.runtime.package import read_package

SIZES = (64, 32, 10)
EM_AARCH64 = 183


@pytest.fixture(scope="module")
def lib() -> Module:
    return build(mlp_model(2, sizes=SIZES))


def test_round_trip_in_process(lib: Module, tmp_path: Path) -> None:
    inputs = random_inputs(GraphModule(lib))
    path = lib.export_library(tmp_path / "mlp.zgt")
    assert [p.name for p in tmp_path.iterdir()] == ["mlp.zgt"]
    loaded = load_module(path)
    assert loaded.plan == lib.plan and loaded.target == lib.target
    runner = GraphModule(loaded)
    assert runner.uses_entry
    runner.run(**inputs)
    np.testing.assert_array_equal(runner.get_output(0), run_in_process(lib, inputs)[0])


def test_manifest_records_the_target(lib: Module, tmp_path: Path) -> None:
    package = read_package(lib.export_library(tmp_path / "mlp.zgt"))
    assert package.target["target"] == lib.target
    assert package.target["triple"] in lib.target and package.shared_object[:4] == b"\x7fELF"
    enabled = [f[1:] for f in lib.target.split("-mattr=")[-1].split(",") if f.startswith("+")]
    assert package.target["features"] == enabled


def test_launches_carry_flop_counts(lib: Module) -> None:
    flops = {launch["kernel"]: launch["flops"] for launch in lib.plan["launches"]}
    batch = 2
    matmul, bias, relu = 2 * batch * SIZES[0] * SIZES[1], batch * SIZES[1], batch * SIZES[1]
    assert flops["matmul_add_relu_0"] == matmul + bias + relu
    assert flops["matmul_add_0"] == 2 * batch * SIZES[1] * SIZES[2] + batch * SIZES[2]
    assert all(value >= 0 for value in flops.values())


def test_memory_plan_shares_storage_and_keeps_outputs(lib: Module) -> None:
    report = lib.memory_report()
    assert 0 < report.planned_bytes <= report.naive_bytes
    placed = [b for b in lib.plan["buffers"] if "offset" in b]
    assert placed and all(b["kind"] == "intermediate" for b in placed)
    unplanned = {**lib.plan, "buffers": [{k: v for k, v in b.items() if k != "offset"}
                                         for b in lib.plan["buffers"]]}  # fmt: skip
    del unplanned["arena_bytes"]
    inputs = random_inputs(GraphModule(lib))
    separate = run_in_process(Module(unplanned, lib.params, lib.get_function), inputs)
    np.testing.assert_array_equal(run_in_process(lib, inputs)[0], separate[0])


def test_cross_compiled_object(tmp_path: Path) -> None:
    lib = build(mlp_model(1, sizes=SIZES), target="llvm -mtriple=aarch64-linux-gnu")
    code = lib.keepalive.object_code()
    assert code[:4] == b"\x7fELF" and int.from_bytes(code[18:20], "little") == EM_AARCH64
    if platform.machine() not in ("aarch64", "arm64"):
        with pytest.raises(HostMismatchError, match="compiled for another architecture"):
            GraphModule(lib)
        with pytest.raises(LinkError, match="cannot link code for aarch64-linux-gnu .*cross"):
            lib.export_library(tmp_path / "arm.zgt")
        assert not list(tmp_path.iterdir())


def test_no_linker_leaves_no_file(lib: Module, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CC", "no-such-cc")
    with pytest.raises(LinkError, match="the linker 'no-such-cc' is not on PATH"):
        lib.export_library(tmp_path / "mlp.zgt")
    assert not list(tmp_path.iterdir())


def test_built_for_a_feature_this_machine_lacks(tmp_path: Path) -> None:
    flags = cpu_flags()
    lacking = [f for f, flag in X86_FLAGS.items() if flags is not None and flag not in flags]
    if platform.machine() != "x86_64" or not lacking:
        pytest.skip("needs an x86-64 host that lacks one of the checked CPU features")
    lib = build(mlp_model(1, sizes=SIZES), target=f"llvm -mcpu=x86-64 -mattr=+{lacking[0]}")
    path = lib.export_library(tmp_path / "mlp.zgt")
    with pytest.raises(HostMismatchError, match=f"CPU features this machine lacks: {lacking[0]}"):
        load_module(path)


@pytest.mark.parametrize(
    "target, features",
    [
        ("llvm -mcpu=skylake-avx512", ["avx", "avx2", "fma", "avx512f"]),
        ("llvm -mcpu=skylake-avx512 -mattr=-avx512f", ["avx", "avx2", "fma"]),
        ("llvm -mcpu=haswell -mattr=+f16c", ["f16c", "avx", "avx2", "fma"]),
        ("llvm -mcpu=x86-64 -mattr=+sse4.2,-avx", ["sse4.2"]),
        ("llvm -mtriple=aarch64-linux-gnu -mattr=+neon", ["neon"]),
    ],
)
def test_required_features(target: str, features: list[str]) -> None:
    assert required_features(parse_target(target)) == features
