"""Target strings, the pass registry and pipeline parsing."""

import pytest

from ziggurat.core import pipelines
from ziggurat.core.errors import CompileError
from ziggurat.core.pass_manager import PassManager, parse_passes
from ziggurat.core.registry import OWN_PASSES, all_passes, register_pass
from ziggurat.core.targets import host_cpu, parse_target, vector_bits


def test_target_strings() -> None:
    generic = parse_target("llvm")
    assert generic.triple.data == host_cpu()[0] and generic.cpu.data == "generic"
    native = parse_target("llvm -mcpu=native")
    assert native.cpu.data == host_cpu()[1] and native.features.data
    avx512 = parse_target("llvm -mcpu=skylake-avx512 -num-cores=3")
    assert (avx512.vector_bits.data, avx512.cores.data) == (512, 3)
    arm = parse_target("llvm -mtriple=aarch64-linux-gnu")
    assert arm.arch == "aarch64" and arm.vector_bits.data == 128
    assert parse_target("llvm -mcpu=haswell").vector_bits.data == 256
    assert parse_target("llvm -mattr=+avx2").vector_bits.data == 256


def test_features_override_the_cpu_name() -> None:
    assert vector_bits("x86_64", "skylake-avx512", "-avx512f") == 256
    assert vector_bits("x86_64", "generic", "+avx512f,+avx2") == 512


@pytest.mark.parametrize(
    "spec, message",
    [
        ("cuda", "must start with 'llvm'"),
        ("llvm -mfoo=bar", "unknown target option '-mfoo=bar'"),
        ("llvm -num-cores=many", "-num-cores must be an integer"),
        ("llvm -mtriple=aarch64-linux-gnu -mcpu=native", "needs the host triple"),
    ],
)
def test_bad_target_strings(spec: str, message: str) -> None:
    with pytest.raises(CompileError, match=message):
        parse_target(spec)


def test_registry_holds_ours_and_xdsls() -> None:
    passes = all_passes()
    assert set(OWN_PASSES) <= set(passes)
    assert {"canonicalize", "cse", "convert-scf-to-cf"} <= set(passes)
    for name, factory in OWN_PASSES.items():
        assert factory().name == name


def test_register_pass_refuses_taken_names() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_pass("cse", lambda: type(None))  # type: ignore[arg-type,return-value]


def test_pipeline_parsing_with_options() -> None:
    (target_pass, cse) = parse_passes(
        'convert-sched-to-target{target="llvm -mcpu=haswell" stack-limit=4096},cse'
    )
    assert target_pass.target == "llvm -mcpu=haswell" and target_pass.stack_limit == 4096
    assert cse.name == "cse"
    manager = PassManager.parse(pipelines.to_target_pipeline(0))
    assert [p.name for p in manager.passes] == [
        "graph-scan-to-loop",
        "convert-graph-to-te",
        "te-inline-computes",
        "convert-te-to-sched",
        "sched-expand-math",
        "sched-default-schedule",
        "sched-parallelize",
        "sched-lower-unroll",
        "sched-lower-vectorize",
        "convert-sched-to-target",
    ]


@pytest.mark.parametrize(
    "spec, message",
    [
        ("convert-graph-to-t", "did you mean 'convert-graph-to-te'"),
        ("cse{foo=1}", "bad options for pass 'cse'.*takes no options"),
        ("sched-parallelize{min-work=x}", "min-work: int"),
        ("a{", "bad pipeline"),
    ],
)
def test_bad_pipelines(spec: str, message: str) -> None:
    with pytest.raises(CompileError, match=message):
        parse_passes(spec)


def test_opt_level_range() -> None:
    with pytest.raises(CompileError, match="opt_level must be 0, 1, 2 or 3"):
        pipelines.to_target_pipeline(4)


def test_shared_constants_keep_the_sign_of_zero() -> None:
    import math

    from xdsl.dialects import arith
    from xdsl.dialects.builtin import FloatAttr, f32
    from xdsl.ir import Block

    from ziggurat.lowering.sched_to_target import share_constants

    zero, negative_zero, zero_again = (
        arith.ConstantOp(FloatAttr(v, f32)) for v in (0.0, -0.0, 0.0)
    )
    block = Block([zero, negative_zero, zero_again])
    block.add_ops([arith.AddfOp(zero, negative_zero), arith.AddfOp(zero_again, negative_zero)])
    assert share_constants(block) == 1
    kept = [op for op in block.ops if isinstance(op, arith.ConstantOp)]
    assert [math.copysign(1, op.value.value.data) for op in kept] == [1, -1]
    assert all(isinstance(op, arith.ConstantOp) for op in list(block.ops)[:2])
