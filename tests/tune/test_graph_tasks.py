"""Graph tasks: the Winograd tile of each convolution signature as a tuning choice, measured
on the convolution alone, applied by graph-winograd under tuned configs, and tuned by
tune_model before the kernels it leads to."""

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import ziggurat
from ziggurat import tune
from ziggurat.core.context import make_context
from ziggurat.core.pass_manager import PassManager
from ziggurat.core.pipelines import GRAPH_PASSES_BY_LEVEL
from ziggurat.core.targets import as_target
from ziggurat.dialects import graph
from ziggurat.dialects.target import CPU_ATTR
from ziggurat.frontend.onnx.importer import from_onnx
from ziggurat.passes.graph.winograd import TILE_KNOB
from ziggurat.runtime import GraphModule
from ziggurat.schedule.dispatch import use_configs
from ziggurat.schedule.space import Config
from ziggurat.tune.graph_tasks import extract_graph_tasks
from ziggurat.tune.records import ErrorCode, TargetInfo, configs_for_target, load_records

TARGET = "llvm -mcpu=skylake-avx512"


def _conv_chain(channels: int = 32, size: int = 28, convs: int = 2):
    """`convs` 3x3 convolutions of one signature in a row, with ReLUs (a blocked chain)."""
    rng = np.random.default_rng(0)
    weights = [
        numpy_helper.from_array(
            (rng.standard_normal((channels, channels, 3, 3)) / 12).astype(np.float32), f"w{n}"
        )
        for n in range(convs)
    ]
    nodes, name = [], "x"
    for n in range(convs):
        nodes.append(helper.make_node("Conv", [name, f"w{n}"], [f"c{n}"], pads=[1, 1, 1, 1]))
        nodes.append(helper.make_node("Relu", [f"c{n}"], [f"r{n}"]))
        name = f"r{n}"
    shape = [1, channels, size, size]
    graph_proto = helper.make_graph(
        nodes,
        "chain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)],
        weights,
    )
    return helper.make_model(graph_proto, opset_imports=[helper.make_opsetid("", 17)])


@pytest.fixture(scope="module")
def chain():
    model = _conv_chain()
    return model, from_onnx(model)


def _winograd_tiles(module, params, configs) -> list[int]:
    """The tile of each graph.winograd_input the graph passes make under `configs`."""
    ctx = make_context(dict(params))
    copy = module.clone()
    copy.attributes[CPU_ATTR] = as_target(TARGET)
    with use_configs(configs):
        PassManager.parse(",".join(GRAPH_PASSES_BY_LEVEL[3])).run(ctx, copy)
    return [op.tile.value.data for op in copy.walk() if isinstance(op, graph.WinogradInputOp)]


def test_one_task_per_signature_with_its_launches_and_three_choices(chain):
    _, (module, params) = chain
    tasks = extract_graph_tasks(module, TARGET, params)
    assert len(tasks) == 1
    task = tasks[0]
    assert task.weight == 2
    assert task.flops == 2 * 32 * 28 * 28 * 32 * 9
    assert [c[TILE_KNOB] for c in task.space.points] == [0, 2, 4]
    assert task.default[TILE_KNOB] in (2, 4)
    assert task.kind == "graph"
    assert "graph.conv_nchwc" in task.module_text()


def test_below_opt_level_3_there_is_no_graph_task(chain):
    _, (module, params) = chain
    assert extract_graph_tasks(module, TARGET, params, opt_level=2) == []


def test_a_tuned_tile_decides_each_convolution_of_the_signature(chain):
    _, (module, params) = chain
    key = extract_graph_tasks(module, TARGET, params)[0].key
    assert _winograd_tiles(module, params, {key: Config.of({TILE_KNOB: 0})}) == []
    assert _winograd_tiles(module, params, {key: Config.of({TILE_KNOB: 2})}) == [2, 2]
    assert _winograd_tiles(module, params, {key: Config.of({TILE_KNOB: 4})}) == [4, 4]


def test_each_choice_computes_what_onnxruntime_computes(chain):
    model, (module, params) = chain
    task = extract_graph_tasks(module, "llvm -mcpu=native", params)[0]
    x = np.random.default_rng(1).standard_normal((1, 32, 28, 28)).astype(np.float32)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (expected,) = session.run(None, {"x": x})
    for config in task.space.points:
        with use_configs({task.key: config}):
            lib = ziggurat.build(module, "llvm -mcpu=native", params=params)
        runner = GraphModule(lib)
        runner.run(x=x)
        # Winograd's transforms reorder the sums (F(4x4)'s by up to 10x the direct error).
        np.testing.assert_allclose(runner.get_output(0), expected, rtol=1e-3, atol=1e-3)


def test_each_choice_is_measured_in_a_worker_and_checked(chain):
    _, (module, params) = chain
    task = extract_graph_tasks(module, "llvm -mcpu=native", params)[0]
    option = tune.measure_option(runner=tune.LocalRunner(number=2, repeat=1, min_repeat_ms=0))
    with tune.LocalMeasurer(option) as measurer:
        measurements = measurer.measure(task, task.space.points)
    assert [m.result.error_code for m in measurements] == [ErrorCode.NO_ERROR] * 3
    assert all(m.result.median > 0 for m in measurements)
    assert len({m.kernel_hash for m in measurements}) == 3


def test_tune_model_tunes_the_choice_first_and_the_kernels_it_leads_to(chain, tmp_path):
    _, (module, params) = chain
    log = tmp_path / "tune.jsonl"
    measurer = tune.SimulatedMeasurer(noise=0.0, failing_share=0.0)
    result = tune.tune_model(
        module,
        params,
        TARGET,
        n_trial=40,
        log=log,
        progress=False,
        end_to_end=False,
        measurer=measurer,
        roofline=tune.Roofline(1e18, 1e18),
    )
    graph_task = extract_graph_tasks(module, TARGET, params)[0]
    choices = measurer.measured_by_task[graph_task.key]
    assert sorted(c[TILE_KNOB] for c in set(choices)) == [0, 2, 4]
    first = result.tasks[0]
    assert (
        first.name == graph_task.name == "winograd_1x32x28x28_32"
        and first.best_config == Config.of({TILE_KNOB: 2})
    )
    with use_configs({graph_task.key: Config.of({TILE_KNOB: 2})}):
        kernel_keys = {t.key for t in tune.extract_tasks(module, TARGET, params)}
    assert set(measurer.measured_by_task) == kernel_keys | {graph_task.key}
    configs, _ = configs_for_target(load_records(log), TargetInfo.of(as_target(TARGET)))
    assert configs[graph_task.key] == Config.of({TILE_KNOB: 2})
    assert _winograd_tiles(module, params, configs) == [2, 2]


def test_a_resumed_run_measures_no_choice_again(chain, tmp_path):
    _, (module, params) = chain
    log = tmp_path / "tune.jsonl"
    options = dict(progress=False, end_to_end=False, roofline=tune.Roofline(1e18, 1e18))
    tune.tune_model(
        module, params, TARGET, n_trial=10, log=log, measurer=tune.SimulatedMeasurer(), **options
    )
    again = tune.SimulatedMeasurer()
    tune.tune_model(module, params, TARGET, n_trial=20, log=log, measurer=again, **options)
    graph_key = extract_graph_tasks(module, TARGET, params)[0].key
    assert graph_key not in again.measured_by_task
