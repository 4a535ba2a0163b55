"""The guide's examples (docs/examples) run as the guide says."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from models import MATMUL_RELU, make_model, onnxruntime_outputs, random_inputs
from onnx import helper
from xdsl.parser import Parser

import ziggurat
from ziggurat import tune
from ziggurat.core.context import make_context
from ziggurat.core.errors import ZigguratError
from ziggurat.core.reference import run_reference
from ziggurat.dialects import sched
from ziggurat.plugins import Knobs, load_plugin, register_template
from ziggurat.runtime import GraphModule
from ziggurat.schedule.custom_templates import TEMPLATES
from ziggurat.schedule.schedule import Schedule
from ziggurat.schedule.space import Config

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"
BIN = Path(sys.executable).parent


def test_guide_lit_files() -> None:
    lit = shutil.which("lit", path=str(BIN)) or "lit"
    result = subprocess.run([lit, "-v", str(EXAMPLES)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Passed: 2" in result.stdout


def test_plugin_pass_reports_statistics(tmp_path: Path) -> None:
    source = tmp_path / "in.mlir"
    source.write_text((EXAMPLES / "fold-double-relu.mlir").read_text())
    result = subprocess.run(
        [
            str(BIN / "ziggurat-opt"),
            str(source),
            "--load-plugin",
            str(EXAMPLES / "fold_double_relu.py"),
            "-p",
            "fold-double-relu",
            "--pass-statistics",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert result.returncode == 0, result.stderr
    assert "(relus-folded)        2" in result.stderr


def test_schedule_example_keeps_the_numbers() -> None:
    load_plugin(str(EXAMPLES / "parallel_batch.py"))
    from ziggurat.core.pass_manager import PassManager

    source = """
    func.func @main(%a: tensor<8x16xf32>, %b: tensor<16x4xf32>) -> tensor<8x4xf32> {
      %0 = graph.matmul %a, %b : (tensor<8x16xf32>, tensor<16x4xf32>) -> tensor<8x4xf32>
      %1 = graph.relu %0 : tensor<8x4xf32>
      func.return %1 : tensor<8x4xf32>
    }"""
    ctx = make_context()
    module = Parser(ctx, source).parse_module()
    inputs = random_inputs({"a": (8, 16), "b": (16, 4)})
    expected = run_reference(module, {}, [inputs["a"], inputs["b"]])
    PassManager.parse(
        "convert-graph-to-te,convert-te-to-sched,parallel-batch{prefix=matmul min-trips=8}"
    ).run(ctx, module)
    parallel = [
        op for op in module.walk() if isinstance(op, sched.ForOp) and op.kind.data == "parallel"
    ]
    assert [loop.trip_count for loop in parallel] == [8]
    from ziggurat.backend import codegen, plan
    from ziggurat.core.targets import parse_target
    from ziggurat.runtime import Module

    module.attributes["target.cpu"] = parse_target("llvm -mcpu=native -num-cores=2")
    PassManager.parse("convert-sched-to-target").run(ctx, module)
    execution_plan = plan.plan_from_module(module, {})
    codegen.openmp_runtime()
    PassManager.parse("convert-target-to-llvm").run(ctx, module)
    jit = codegen.jit(module)
    assert "GOMP_parallel" in jit.llvm_ir()
    runner = GraphModule(Module(execution_plan, {}, jit.address, keepalive=jit))
    runner.set_input(0, inputs["a"])
    runner.set_input(1, inputs["b"])
    runner.run()
    np.testing.assert_allclose(runner.get_output(0), expected[0], rtol=1e-5, atol=1e-5)


def test_new_onnx_op_example() -> None:
    load_plugin(str(EXAMPLES / "softplus.py"))
    model = make_model([helper.make_node("Softplus", ["x"], ["y"])], {"x": [3, 5]}, {"y": None})
    module, params = ziggurat.from_onnx(model)
    runner = GraphModule(ziggurat.build(module, params=params))
    inputs = random_inputs({"x": (3, 5)})
    runner.run(**inputs)
    np.testing.assert_allclose(
        runner.get_output(0), onnxruntime_outputs(model, inputs)[0], rtol=1e-5, atol=1e-6
    )


def test_entry_point_plugins_load_without_flags(tmp_path: Path) -> None:
    dist = tmp_path / "relu_tools-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: relu-tools\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[ziggurat.plugins]\nrelu = relu_tools_plugin\n")
    (tmp_path / "relu_tools_plugin.py").write_text((EXAMPLES / "fold_double_relu.py").read_text())
    source = tmp_path / "in.mlir"
    source.write_text((EXAMPLES / "fold-double-relu.mlir").read_text())
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "PYTHONWARNINGS": "ignore"}
    result = subprocess.run(
        [str(BIN / "ziggurat-opt"), str(source), "-p", "fold-double-relu"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("graph.relu") == 1


def test_primitive_schedule_example_keeps_the_numbers(monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLES))
    from tile_dense import tile_dense

    from ziggurat.core import pipelines
    from ziggurat.core.pass_manager import PassManager
    from ziggurat.schedule.schedule import Schedule

    source = """
    func.func @main(%a: tensor<24x40xf32>) -> tensor<24x64xf32> {
      %w = graph.weight "w" : tensor<40x64xf32>
      %0 = graph.matmul %a, %w : (tensor<24x40xf32>, tensor<40x64xf32>) -> tensor<24x64xf32>
      func.return %0 : tensor<24x64xf32>
    }"""
    params = {"w": np.random.default_rng(2).standard_normal((40, 64)).astype(np.float32)}
    ctx = make_context(params)
    module = Parser(ctx, source).parse_module()
    PassManager.parse("convert-graph-to-te,te-inline-computes,convert-te-to-sched").run(ctx, module)
    kernel = next(op for op in module.ops if getattr(op, "sym_visibility", None))
    schedule = Schedule(kernel, ctx.params)
    tile_dense(schedule)
    assert "for i0.o in 0..24 step 8 parallel" in str(schedule)
    steps = "; ".join(str(step) for step in schedule.trace.steps)
    monkeypatch.setattr(
        pipelines,
        "DEFAULT_SCHEDULES",
        [f'sched-apply-schedule{{steps="{steps}"}}', "sched-lower-unroll", "sched-lower-vectorize"],
    )
    lib = ziggurat.build(Parser(make_context(), source).parse_module(), params=params)
    runner = GraphModule(lib)
    a = np.random.default_rng(3).standard_normal((24, 40)).astype(np.float32)
    runner.run(**{lib.input_names[0]: a})
    np.testing.assert_allclose(runner.get_output(0), a @ params["w"], rtol=1e-4, atol=1e-4)


@pytest.fixture
def matmul_template():
    """The guide's tunable template, registered for one test and then removed."""
    load_plugin(str(EXAMPLES / "tiled_matmul_template.py"))
    yield
    TEMPLATES.pop("tiled_matmul")
    for name in [n for n in sys.modules if "tiled_matmul_template" in n]:
        del sys.modules[name]


def test_a_custom_template_is_tuned_and_built(matmul_template, tmp_path: Path) -> None:
    graph = Parser(make_context(), MATMUL_RELU).parse_module()
    (task,) = tune.extract_tasks(graph, "llvm -mcpu=native", {})
    assert [k.name for k in task.space.knobs] == ["tile_rows", "tile_cols", "rows", "outer"]
    assert len(task.space) == 48
    assert task.default == Config.of(
        {"tile_rows": 4, "tile_cols": 8, "rows": "unroll", "outer": "parallel"}
    )
    log = tmp_path / "tune.jsonl"
    tuner = tune.RandomTuner(task, seed=1)
    quick = tune.LocalRunner(number=2, repeat=2, min_repeat_ms=1)
    tuner.tune(
        n_trial=5,
        measure_option=tune.measure_option(runner=quick),
        callbacks=[tune.callback.log_to_file(log)],
    )
    assert tuner.errors == 0 and len(tuner.costs) == 5  # the worker imported the template
    best = tuner.best_config
    assert best is not None
    rng = np.random.default_rng(0)
    a = rng.standard_normal((64, 128)).astype(np.float32)
    b = rng.standard_normal((128, 96)).astype(np.float32)
    with tune.apply_history_best(log, quiet=True) as table:
        lib = ziggurat.build(graph, target="llvm -mcpu=native")
    assert table.applied == {task.key}
    runner = GraphModule(lib)
    runner.run(a=a, b=b)
    expected = run_reference(graph, {}, {"a": a, "b": b})[0]
    np.testing.assert_allclose(runner.get_output(0), expected, rtol=1e-4, atol=1e-4)


def test_a_template_failing_on_its_defaults_is_named() -> None:
    @register_template("broken", matches=lambda kernel: True)
    def broken(cfg: Knobs, s: Schedule) -> None:
        s.split("no_such_loop", 2)

    try:
        graph = Parser(make_context(), MATMUL_RELU).parse_module()
        with pytest.raises(ZigguratError, match="template 'broken' fails on its defaults"):
            ziggurat.build(graph, target="llvm -mcpu=native")
    finally:
        TEMPLATES.pop("broken")
