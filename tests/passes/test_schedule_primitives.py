"""Each schedule primitive on real kernels, compiled and run against numpy; the trace,
its replay and the loop-nest printer; primitives refusing illegal schedules."""

import numpy as np
import pytest
from xdsl.dialects import func
from xdsl.parser import Parser

import ziggurat
from ziggurat.core import pipelines
from ziggurat.core.context import make_context
from ziggurat.core.pass_manager import PassManager
from ziggurat.core.reference import run_reference
from ziggurat.runtime import GraphModule
from ziggurat.schedule.loop_transforms import ScheduleError
from ziggurat.schedule.schedule import Schedule, parse_trace

RNG = np.random.default_rng(5)

DENSE = """
func.func @main(%x: tensor<10x48xf32>) -> tensor<10x40xf32> {
  %w = graph.weight "w" : tensor<48x40xf32>
  %b = graph.weight "b" : tensor<40xf32>
  %0 = graph.matmul %x, %w : (tensor<10x48xf32>, tensor<48x40xf32>) -> tensor<10x40xf32>
  %1 = graph.add %0, %b : (tensor<10x40xf32>, tensor<40xf32>) -> tensor<10x40xf32>
  %2 = graph.relu %1 : tensor<10x40xf32>
  func.return %2 : tensor<10x40xf32>
}
"""
DENSE_PARAMS = {
    "w": RNG.standard_normal((48, 40)).astype(np.float32),
    "b": RNG.standard_normal(40).astype(np.float32),
}

LAYER_NORM = """
func.func @main(%x: tensor<6x40xf32>) -> tensor<6x40xf32> {
  %s = graph.weight "scale" : tensor<40xf32>
  %b = graph.weight "bias" : tensor<40xf32>
  %0 = graph.layer_norm %x, %s, %b {axis = 1 : i64, epsilon = 1.0e-05 : f32} : (tensor<6x40xf32>, tensor<40xf32>, tensor<40xf32>) -> tensor<6x40xf32>
  func.return %0 : tensor<6x40xf32>
}
"""
LAYER_NORM_PARAMS = {
    "scale": RNG.standard_normal(40).astype(np.float32),
    "bias": RNG.standard_normal(40).astype(np.float32),
}


RESIDUAL = """
func.func @main(%x: tensor<1x10x48xf32>) -> tensor<1x10x48xf32> {
  %w = graph.weight "w" : tensor<48x48xf32>
  %0 = graph.matmul %x, %w : (tensor<1x10x48xf32>, tensor<48x48xf32>) -> tensor<1x10x48xf32>
  %1 = graph.add %x, %0 : (tensor<1x10x48xf32>, tensor<1x10x48xf32>) -> tensor<1x10x48xf32>
  func.return %1 : tensor<1x10x48xf32>
}
"""
RESIDUAL_PARAMS = {"w": RNG.standard_normal((48, 48)).astype(np.float32)}


def dense_reference(x: np.ndarray) -> np.ndarray:
    return np.maximum(x @ DENSE_PARAMS["w"] + DENSE_PARAMS["b"], 0)


def layer_norm_reference(x: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=1, keepdims=True)
    normalized = (x - mean) / np.sqrt(variance + 1e-5)
    return normalized * LAYER_NORM_PARAMS["scale"] + LAYER_NORM_PARAMS["bias"]


def run_with_schedule(
    monkeypatch: pytest.MonkeyPatch, source: str, params: dict, steps: str, x: np.ndarray
) -> np.ndarray:
    """Builds `source` with `steps` as the only schedule (no default templates)."""
    spec = f'sched-apply-schedule{{steps="{steps}"}}'
    monkeypatch.setattr(
        pipelines, "DEFAULT_SCHEDULES", [spec, "sched-lower-unroll", "sched-lower-vectorize"]
    )
    module = Parser(make_context(), source).parse_module()
    lib = ziggurat.build(module, params=params, opt_level=3, verify_each=True)
    runner = GraphModule(lib)
    runner.run(**{lib.input_names[0]: x})
    return runner.get_output(0)


@pytest.mark.parametrize(
    "steps",
    [
        "split('i0', 4)",
        "split('i1', 16); split('r0', 20)",
        "reorder('i1', 'i0')",
        "tile('i0', 'i1', 4, 16)",
        "fuse('i0', 'i1'); parallel('i0.i1')",
        "split('i1', 8); cache_write('i1.i'); reorder('r0', 'i1.i'); vectorize('i1.i')",
        "split('i1', 8); unroll('i1.i')",
        "parallel('i0')",
        "pack(1, (1, 0))",
        "pack(1, (1, 0, 2), (1, 8))",
        "split('i0', 4); split('i1', 16); reorder('i0.o', 'i1.o', 'i0.i', 'i1.i'); "
        "cache_write('i0.i', 'i1.i'); reorder('r0', 'i0.i', 'i1.i'); unroll('i0.i'); "
        "split('i1.i', 8); unroll('i1.i.o'); vectorize('i1.i.i')",
    ],
)
def test_primitive_keeps_the_dense_numbers(monkeypatch: pytest.MonkeyPatch, steps: str) -> None:
    x = RNG.standard_normal((10, 48)).astype(np.float32)
    out = run_with_schedule(monkeypatch, DENSE, DENSE_PARAMS, steps, x)
    np.testing.assert_allclose(out, dense_reference(x), rtol=1e-4, atol=1e-4)


def test_compute_at_keeps_the_layer_norm_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    x = RNG.standard_normal((6, 40)).astype(np.float32)
    steps = "compute_at('i0', 'i1'); compute_at('i1', 'i2')"
    out = run_with_schedule(monkeypatch, LAYER_NORM, LAYER_NORM_PARAMS, steps, x)
    np.testing.assert_allclose(out, layer_norm_reference(x), rtol=1e-4, atol=1e-4)


def test_cache_write_moves_a_residual_read_made_before_the_reduction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """x + x @ w reads x[i, j] before the fold in the one fused loop nest; x is never
    written, so the read moves to the store nest and the tile keeps its accumulators."""
    x = RNG.standard_normal((1, 10, 48)).astype(np.float32)
    steps = "split('i1', 5); cache_write('i1.i', 'i2'); reorder('r0', 'i1.i', 'i2')"
    out = run_with_schedule(monkeypatch, RESIDUAL, RESIDUAL_PARAMS, steps, x)
    np.testing.assert_allclose(out, x + x @ RESIDUAL_PARAMS["w"], rtol=1e-4, atol=1e-4)


def sched_kernel(source: str, params: dict) -> tuple[func.FuncOp, dict]:
    ctx = make_context(params)
    module = Parser(ctx, source).parse_module()
    lowering = "graph-fuse-ops,convert-graph-to-te,te-inline-computes,convert-te-to-sched"
    PassManager.parse(lowering).run(ctx, module)
    kernel = next(k for k in module.ops if isinstance(k, func.FuncOp) and k.sym_visibility)
    return kernel, ctx.params


def test_trace_prints_and_replays_on_a_fresh_kernel() -> None:
    kernel, params = sched_kernel(DENSE, DENSE_PARAMS)
    schedule = Schedule(kernel, params)
    outer, inner = schedule.split("i0", 4)
    schedule.reorder("i1", outer)
    schedule.unroll(inner)
    assert str(schedule.trace) == "split('i0', 4)\nreorder('i1', 'i0.o')\nunroll('i0.i')"
    fresh, fresh_params = sched_kernel(DENSE, DENSE_PARAMS)
    replayed = schedule.trace.replay(fresh)
    assert str(replayed) == str(schedule)
    assert parse_trace(kernel.attributes["sched.trace"].data).steps == schedule.trace.steps


def test_loop_printer_shows_ranges_kinds_and_writes() -> None:
    kernel, params = sched_kernel(DENSE, DENSE_PARAMS)
    schedule = Schedule(kernel, params)
    schedule.split("i1", 16)
    schedule.parallel("i0")
    assert str(schedule).splitlines() == [
        "@matmul_add_relu_0",
        "  for i0 in 0..10 parallel",
        "    for i1.o in 0..32 step 16",
        "      for i1.i in 0..16",
        "        local<scalar> = ...",
        "        for r0 in 0..48 (reduce)",
        "          local<scalar> = ...",
        "        arg3[...] = ...",
        "  for i0.tail in 0..10",
        "    for i1.tail in 32..40",
        "      local<scalar> = ...",
        "      for r0.tail in 0..48 (reduce)",
        "        local<scalar> = ...",
        "      arg3[...] = ...",
    ]


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ("vectorize('r0')", "cannot mark reduction loop 'r0' vectorize"),
        ("parallel('r0')", "cannot mark reduction loop 'r0' parallel"),
        ("vectorize('i0')", "cannot vectorize loop 'i0': it holds loops other than unrolled ones"),
        ("split('nope', 2)", "has no loop named 'nope'"),
        ("split('i1', 16); cache_write('i1.o')", "must be a spatial loop from 0 with step 1"),
        ("fuse('i0', 'r0')", "not adjacent|reduction loop with a spatial loop"),
        ("pack(0, (1, 0))", "not a weight from the params store"),
        ("pack(1, (1, 0, 2), (1, 7))", "cannot cut dim 1 of \\[48, 40\\] by 7"),
        ("reorder('i0', 'i0')", "the same loop twice"),
    ],
)
def test_illegal_schedules_are_refused(steps: str, message: str) -> None:
    kernel, params = sched_kernel(DENSE, DENSE_PARAMS)
    schedule = Schedule(kernel, params)
    with pytest.raises(ScheduleError, match=message):
        for step in parse_trace(steps).steps:
            getattr(schedule, step.primitive)(*step.args)


def test_unknown_primitives_and_bad_steps_are_refused() -> None:
    with pytest.raises(ScheduleError, match="unknown schedule primitive 'spilt'"):
        parse_trace("spilt('i0', 4)")
    with pytest.raises(ScheduleError, match="non-literal argument"):
        parse_trace("split(i0, 4)")
    with pytest.raises(ScheduleError, match="cannot read schedule step"):
        parse_trace("split('i0', 4")


CONV_RESIDUAL = """
func.func @main(%x: tensor<1x2x6x6x16xf32> {graph.name = "x"}, %r: tensor<1x2x6x6x16xf32> {graph.name = "r"}) -> tensor<1x2x6x6x16xf32> {
  %w = graph.weight "w" : tensor<2x2x3x3x16x16xf32>
  %b = graph.weight "b" : tensor<32xf32>
  %0 = graph.conv_nchwc %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x6x6x16xf32>, tensor<2x2x3x3x16x16xf32>, tensor<32xf32>) -> tensor<1x2x6x6x16xf32>
  %1 = graph.add %0, %r : (tensor<1x2x6x6x16xf32>, tensor<1x2x6x6x16xf32>) -> tensor<1x2x6x6x16xf32>
  %2 = graph.relu %1 : tensor<1x2x6x6x16xf32>
  func.return %2 : tensor<1x2x6x6x16xf32>
}
"""
CONV_RESIDUAL_PARAMS = {
    "w": RNG.standard_normal((2, 2, 3, 3, 16, 16)).astype(np.float32),
    "b": RNG.standard_normal(32).astype(np.float32),
}


def test_blocked_conv_with_a_residual_takes_a_second_vector_from_the_channel_blocks() -> None:
    """The residual read in the epilogue depends on the output-channel block loop; only the
    reduction's reads decide, so the block loop still gives the tile its second vector."""
    kernel, params = sched_kernel(CONV_RESIDUAL, CONV_RESIDUAL_PARAMS)
    module = kernel.parent_op()
    assert module is not None
    ctx = make_context(params)
    target = "llvm -mtriple=x86_64-unknown-linux-gnu -mcpu=skylake-avx512"
    PassManager.parse(f'sched-default-schedule{{target="{target}"}}').run(ctx, module)
    scheduled = next(k for k in module.ops if isinstance(k, func.FuncOp) and k.sym_visibility)
    assert "split('i1', 2)" in scheduled.attributes["sched.trace"].data
    inputs = {
        "x": RNG.standard_normal((1, 2, 6, 6, 16)).astype(np.float32),
        "r": RNG.standard_normal((1, 2, 6, 6, 16)).astype(np.float32),
    }
    source = Parser(make_context(), CONV_RESIDUAL).parse_module()
    expected = run_reference(source, CONV_RESIDUAL_PARAMS, inputs)[0]
    runner = GraphModule(ziggurat.build(source, params=CONV_RESIDUAL_PARAMS))
    runner.run(**inputs)
    np.testing.assert_allclose(runner.get_output(0), expected, rtol=1e-4, atol=1e-4)
