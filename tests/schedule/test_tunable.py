"""Config spaces of the default templates, and configs dispatched by workload key."""

import numpy as np
import pytest
from models import MATMUL_RELU
from xdsl.dialects import func
from xdsl.parser import Parser

import ziggurat
from ziggurat.core.context import make_context
from ziggurat.core.pass_manager import PassManager
from ziggurat.core.reference import run_reference
from ziggurat.dialects import sched
from ziggurat.runtime import GraphModule
from ziggurat.schedule.dispatch import kernel_text, use_configs, workload_key
from ziggurat.schedule.space import Config, ConfigSpace
from ziggurat.schedule.tunable import fits_registers, kernel_space

TO_LOOPS = "convert-graph-to-te,te-inline-computes,convert-te-to-sched,sched-expand-math"


def test_space_lists_points_that_satisfy_the_constraints():
    space = ConfigSpace()
    space.define_knob("rows", [1, 2, 4])
    space.define_split("cols", 12, max_factor=6)
    space.define_constraint(lambda c: int(c["rows"]) * int(c["cols"]) <= 8)
    assert [k.values for k in space.knobs] == [(1, 2, 4), (1, 2, 3, 4, 6)]
    assert len(space) == 11
    assert space[0] == Config.of({"rows": 1, "cols": 1})
    assert space.index_of(Config.of({"rows": 4, "cols": 2})) == 10
    assert space.index_of(Config.of({"rows": 4, "cols": 3})) is None
    assert "rows: [1, 2, 4]" in str(space) and "11 points of 15" in str(space)


def test_a_knob_is_defined_once_with_values():
    space = ConfigSpace()
    space.define_knob("rows", [1])
    with pytest.raises(ValueError, match="twice"):
        space.define_knob("rows", [2])
    with pytest.raises(ValueError, match="no values"):
        space.define_knob("cols", [])


def _matmul_kernel():
    ctx = make_context()
    module = Parser(ctx, MATMUL_RELU).parse_module()
    PassManager.parse(TO_LOOPS).run(ctx, module)
    kernel = next(
        op for op in module.ops if isinstance(op, func.FuncOp) and op.sym_name.data == "matmul_0"
    )
    return module, kernel


def test_matmul_space_holds_the_default_tile():
    _, kernel = _matmul_kernel()
    found = kernel_space(kernel, lanes=16, registers=32, params={})
    assert found is not None
    assert found.default == Config.of(
        {"column": 0, "tile_rows": 8, "tile_cols": 32, "order": 0, "unroll": 1, "parallel": "auto"}
    )
    assert found.space.index_of(found.default) is not None
    knobs = {k.name: k.values for k in found.space.knobs}
    assert knobs["order"] == (0, 1) and knobs["unroll"] == (1, 2, 4)
    assert knobs["parallel"] == ("auto", "fused", "none")
    assert len(found.space) > 500
    assert all(fits_registers(c, 16, 32) for c in found.space.points)


def test_elementwise_kernel_has_no_knobs():
    module, _ = _matmul_kernel()
    relu = next(
        op for op in module.ops if isinstance(op, func.FuncOp) and op.sym_name.data == "relu_0"
    )
    assert kernel_space(relu, lanes=16, registers=32, params={}) is None


def test_a_dispatched_config_reaches_the_template():
    module, kernel = _matmul_kernel()
    key = workload_key(kernel_text(kernel), set())
    relu = next(
        op for op in module.ops if isinstance(op, func.FuncOp) and op.sym_name.data == "relu_0"
    )
    relu_key = workload_key(kernel_text(relu), set())
    config = Config.of({"column": 0, "tile_rows": 4, "tile_cols": 16})
    ctx = make_context()
    with use_configs({key: config}, strict=True) as table:
        PassManager.parse('sched-default-schedule{target="llvm -mcpu=skylake-avx512"}').run(
            ctx, module
        )
    assert table.applied == {key} and table.missed == {relu_key}
    scheduled = next(
        op for op in module.ops if isinstance(op, func.FuncOp) and op.sym_name.data == "matmul_0"
    )
    trace = scheduled.attributes["sched.trace"].data
    assert "split('i0', 4)" in trace and "split('i1', 16)" in trace


def test_a_config_that_does_not_apply_is_an_error_only_when_strict():
    module, kernel = _matmul_kernel()
    key = workload_key(kernel_text(kernel), set())
    config = Config.of({"column": 5, "tile_rows": 4, "tile_cols": 16})
    with use_configs({key: config}):
        PassManager.parse('sched-default-schedule{target="llvm -mcpu=skylake-avx512"}').run(
            make_context(), module.clone()
        )
    with use_configs({key: config}, strict=True), pytest.raises(Exception, match="does not apply"):
        PassManager.parse('sched-default-schedule{target="llvm -mcpu=skylake-avx512"}').run(
            make_context(), module
        )


@pytest.mark.parametrize(
    "config",
    [
        Config.of({"column": 0, "tile_rows": 4, "tile_cols": 16}),
        Config.of({"column": 0, "tile_rows": 3, "tile_cols": 48}),
        Config.of({"column": 0, "tile_rows": 6, "tile_cols": 64}),
        Config.of(
            {
                "column": 0,
                "tile_rows": 5,
                "tile_cols": 32,
                "order": 1,
                "unroll": 4,
                "parallel": "fused",
            }
        ),
        Config.of(
            {
                "column": 0,
                "tile_rows": 7,
                "tile_cols": 16,
                "order": 0,
                "unroll": 2,
                "parallel": "none",
            }
        ),
    ],
)
def test_a_dispatched_config_keeps_the_numbers(config: Config):
    _, kernel = _matmul_kernel()
    key = workload_key(kernel_text(kernel), set())
    graph = Parser(make_context(), MATMUL_RELU).parse_module()
    rng = np.random.default_rng(0)
    a = rng.standard_normal((64, 128)).astype(np.float32)
    b = rng.standard_normal((128, 96)).astype(np.float32)
    expected = run_reference(graph, {}, {"a": a, "b": b})[0]
    with use_configs({key: config}, strict=True) as table:
        lib = ziggurat.build(graph, target="llvm -mcpu=skylake-avx512", opt_level=0)
    assert key in table.applied
    runner = GraphModule(lib)
    runner.run(a=a, b=b)
    np.testing.assert_allclose(runner.get_output(0), expected, rtol=1e-4, atol=1e-4)


def _scheduled_matmul(config: Config) -> func.FuncOp:
    module, kernel = _matmul_kernel()
    key = workload_key(kernel_text(kernel), set())
    with use_configs({key: config}, strict=True):
        PassManager.parse(
            'sched-default-schedule{target="llvm -mcpu=skylake-avx512"},sched-parallelize'
        ).run(make_context(), module)
    return next(
        op for op in module.ops if isinstance(op, func.FuncOp) and op.sym_name.data == "matmul_0"
    )


TILE = {"column": 0, "tile_rows": 8, "tile_cols": 32, "unroll": 1}


@pytest.mark.parametrize(
    ("parallel", "loops"),
    [("auto", ["i0.o"]), ("fused", ["i0.o.i1.o"]), ("none", [])],
)
def test_the_parallel_knob_decides_which_loop_runs_on_the_cores(parallel: str, loops: list[str]):
    kernel = _scheduled_matmul(Config.of({**TILE, "order": 0, "parallel": parallel}))
    parallel_loops = [
        op.attributes["sched.name"].data
        for op in kernel.walk()
        if isinstance(op, sched.ForOp) and op.kind.data == "parallel"
    ]
    assert parallel_loops == loops


def test_the_order_knob_puts_column_panels_outside():
    kernel = _scheduled_matmul(Config.of({**TILE, "order": 1, "parallel": "auto"}))
    outer = next(op for op in kernel.body.block.ops if isinstance(op, sched.ForOp))
    assert outer.attributes["sched.name"].data == "i1.o" and outer.trip_count == 3


def test_the_unroll_knob_unrolls_the_reduction():
    kernel = _scheduled_matmul(Config.of({**TILE, "order": 0, "unroll": 4, "parallel": "auto"}))
    unrolled = [
        op
        for op in kernel.walk()
        if isinstance(op, sched.ForOp) and op.kind.data == "unroll" and op.trip_count == 4
    ]
    assert [op.attributes["sched.name"].data for op in unrolled] == ["r0.i"]
    assert "split('r0', 4); unroll('r0.i')" in kernel.attributes["sched.trace"].data
