"""Models whose shapes move: inputs that decide shapes and symbolic input dims, compiled per
variant (backend/variants.py) and checked against onnxruntime as their values and shapes
change between runs."""

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import onnx
import pytest
from models import onnxruntime_outputs
from onnx import TensorProto, helper, numpy_helper

import ziggurat
from benchmarks.models.bert import bert_encoder
from ziggurat.backend.variants import MAX_VARIANTS_ENV, VariantModule
from ziggurat.core.errors import CompileError, ModelImportError, UnsupportedOpError
from ziggurat.frontend.onnx.dynamic import DynamicModel
from ziggurat.runtime import GraphModule, RuntimeInputError

RNG = np.random.default_rng(3)


def _model(
    nodes: list[onnx.NodeProto],
    inputs: list[onnx.ValueInfoProto],
    outputs: list[str],
    initializers: dict[str, np.ndarray] | None = None,
) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        "dynamic",
        inputs,
        [helper.make_empty_tensor_value_info(name) for name in outputs],
        [numpy_helper.from_array(v, n) for n, v in (initializers or {}).items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def reshape_model() -> onnx.ModelProto:
    """y = reshape(relu(x), s): `s` decides the output's shape; x has a symbolic dim."""
    return _model(
        [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Reshape", ["r", "s"], ["y"])],
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 6]),
            helper.make_tensor_value_info("s", TensorProto.INT64, [2]),
        ],
        ["y"],
    )


def mlp_with_dynamic_batch() -> onnx.ModelProto:
    """A 16-32-8 MLP as torch.onnx exports it with dynamic_axes={"input": {0: "batch"}}."""
    weights = {
        "fc1.weight": RNG.standard_normal((32, 16)).astype(np.float32),
        "fc1.bias": RNG.standard_normal(32).astype(np.float32),
        "fc2.weight": RNG.standard_normal((8, 32)).astype(np.float32),
        "fc2.bias": RNG.standard_normal(8).astype(np.float32),
    }
    nodes = [
        helper.make_node("Gemm", ["input", "fc1.weight", "fc1.bias"], ["h"], transB=1),
        helper.make_node("Relu", ["h"], ["a"]),
        helper.make_node("Gemm", ["a", "fc2.weight", "fc2.bias"], ["logits"], transB=1),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ]
    return _model(
        nodes,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 16])],
        ["probabilities"],
        weights,
    )


def check_against_onnxruntime(model, lib, feeds) -> None:
    expected = onnxruntime_outputs(model, feeds)
    got = lib.run(feeds)
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert g.shape == e.shape
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-4)


def test_a_shape_input_changing_between_runs_compiles_one_variant_per_value() -> None:
    model = reshape_model()
    module, params = ziggurat.from_onnx(model)
    lib = ziggurat.build(module, params=params)
    assert isinstance(lib, VariantModule) and lib.input_names == ["x", "s"]
    x = RNG.standard_normal((4, 6)).astype(np.float32)
    for target in ([4, 6], [8, 3], [24, 1], [4, 6], [-1, 2], [8, 3]):
        check_against_onnxruntime(model, lib, {"x": x, "s": np.array(target, dtype=np.int64)})
    stats = lib.variant_stats()
    assert (stats.misses, stats.hits, stats.cached, stats.evictions) == (4, 2, 4, 0)
    assert stats.compile_seconds > 0
    assert "4 misses" in str(stats)


def test_graph_module_runs_the_variant_of_each_run_and_keeps_outputs_per_run() -> None:
    module, params = ziggurat.from_onnx(reshape_model())
    runner = GraphModule(ziggurat.build(module, params=params))
    with pytest.raises(RuntimeInputError, match="compiled per input shapes"):
        runner.get_output(0)
    x = RNG.standard_normal((2, 6)).astype(np.float32)
    runner.set_input("x", x)
    with pytest.raises(RuntimeInputError, match="'s' was not set"):
        runner.run()
    runner.run(s=np.array([3, 4]))
    np.testing.assert_array_equal(runner.get_output(0), np.maximum(x, 0).reshape(3, 4))
    runner.run(x=x[:1], s=np.array([2, 3]))
    np.testing.assert_array_equal(runner.get_output("y"), np.maximum(x[:1], 0).reshape(2, 3))
    np.testing.assert_array_equal(runner.get_input("s"), [2, 3])
    assert runner.benchmark(repeat=3, warmup=1).mean > 0
    assert runner.memory_report() is not None


def test_the_cache_is_bounded_least_recently_used_first() -> None:
    module, params = ziggurat.from_onnx(reshape_model())
    lib = ziggurat.build(module, params=params, max_variants=2)
    x = np.ones((2, 6), np.float32)
    for target in ([2, 6], [3, 4], [2, 6], [4, 3], [3, 4]):
        lib.run({"x": x, "s": np.array(target)})
    stats = lib.variant_stats()
    # [3, 4] was evicted by [4, 3] (as [2, 6] was used after it), so it is compiled again.
    assert (stats.hits, stats.misses, stats.evictions, stats.cached) == (1, 4, 2, 2)


def test_the_bound_comes_from_the_environment(monkeypatch) -> None:
    module, params = ziggurat.from_onnx(reshape_model())
    monkeypatch.setenv(MAX_VARIANTS_ENV, "3")
    assert ziggurat.build(module, params=params).variant_stats().capacity == 3
    monkeypatch.setenv(MAX_VARIANTS_ENV, "many")
    with pytest.raises(CompileError, match=f"{MAX_VARIANTS_ENV}='many'"):
        ziggurat.build(module, params=params)
    with pytest.raises(CompileError, match="max_variants must be at least 1"):
        ziggurat.build(module, params=params, max_variants=0)


def test_threads_share_the_variants_and_compile_each_once() -> None:
    model = reshape_model()
    module, params = ziggurat.from_onnx(model)
    lib = ziggurat.build(module, params=params)
    targets = [[2, 12], [4, 6], [8, 3], [24, 1]]
    x = RNG.standard_normal((4, 6)).astype(np.float32)
    expected = {tuple(t): np.maximum(x, 0).reshape(t) for t in targets}
    failures: list[str] = []

    def serve(offset: int) -> None:
        for n in range(12):
            target = targets[(n + offset) % len(targets)]
            got = lib.run({"x": x, "s": np.array(target)})[0]
            if not np.array_equal(got, expected[tuple(target)]):
                failures.append(f"thread {offset} got the wrong result for {target}")

    threads = [threading.Thread(target=serve, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    stats = lib.variant_stats()
    assert stats.misses == len(targets) and stats.hits == 4 * 12 - len(targets)


def test_mlp_with_a_dynamic_batch_runs_any_batch() -> None:
    model = mlp_with_dynamic_batch()
    module, params = ziggurat.from_onnx(model)
    assert isinstance(module, DynamicModel) and module.symbolic_inputs == ["input"]
    lib = ziggurat.build(module, params=params)
    for batch in (1, 5, 32, 5):
        feeds = {"input": RNG.standard_normal((batch, 16)).astype(np.float32)}
        check_against_onnxruntime(model, lib, feeds)
    assert lib.variant_stats().misses == 3


def test_encoder_with_a_symbolic_sequence_reshapes_through_shape_gather_concat() -> None:
    model = bert_encoder(batch=1, hidden=32, heads=2, layers=1, symbolic_seq=True)
    module, params = ziggurat.from_onnx(model)
    assert isinstance(module, DynamicModel) and module.shape_inputs == ()
    assert module.inputs[0].dims == (1, "seq", 32)
    lib = ziggurat.build(module, params=params)
    for seq in (7, 16, 33):
        feeds = {"hidden_states": RNG.standard_normal((1, seq, 32)).astype(np.float32)}
        check_against_onnxruntime(model, lib, feeds)


def test_feeds_that_contradict_the_model_name_the_input() -> None:
    module, params = ziggurat.from_onnx(reshape_model())
    lib = ziggurat.build(module, params=params)
    s = np.array([3, 4])
    with pytest.raises(RuntimeInputError, match=r"input 'x' has shape \[2, 5\], .*\[n, 6\]"):
        lib.run({"x": np.ones((2, 5), np.float32), "s": s})
    with pytest.raises(RuntimeInputError, match=r"input 'x' has shape \[12\]"):
        lib.run({"x": np.ones(12, np.float32), "s": s})
    with pytest.raises(RuntimeInputError, match="feeds lack input 's'"):
        lib.run({"x": np.ones((2, 6), np.float32)})
    with pytest.raises(RuntimeInputError, match="no input 'z'"):
        lib.run({"x": np.ones((2, 6), np.float32), "s": s, "z": s})
    with pytest.raises(RuntimeInputError, match="input 's' expects dtype int64"):
        lib.run({"x": np.ones((2, 6), np.float32), "s": np.array([3.5, 4.0])})
    assert lib.variant_stats().misses == 0


def test_a_variant_that_cannot_compile_is_one_clear_error() -> None:
    module, params = ziggurat.from_onnx(reshape_model())
    lib = ziggurat.build(module, params=params)
    with pytest.raises(ModelImportError) as info:
        lib.run({"x": np.ones((2, 6), np.float32), "s": np.array([5, 5])})
    message = str(info.value)
    assert "Reshape" in message and "\n" not in message
    assert "in the variant for x: shape [2, 6]" in message and "s = [5, 5]" in message
    dropout = _model(
        [helper.make_node("Dropout", ["x", "ratio", "training"], ["y"])],
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [4]),
            helper.make_tensor_value_info("ratio", TensorProto.FLOAT, []),
            helper.make_tensor_value_info("training", TensorProto.BOOL, []),
        ],
        ["y"],
    )
    lib = ziggurat.build(ziggurat.from_onnx(dropout)[0])
    x = np.arange(4, dtype=np.float32)
    feeds = {"x": x, "ratio": np.array(0.5, np.float32), "training": np.array(False)}
    np.testing.assert_array_equal(lib.run(feeds)[0], x)
    with pytest.raises(UnsupportedOpError, match="training mode"):
        lib.run({**feeds, "training": np.array(True)})


def test_an_op_no_variant_could_compile_is_refused_at_import() -> None:
    model = _model(
        [helper.make_node("NonZero", ["x"], ["y"], name="nz")],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n"])],
        ["y"],
    )
    with pytest.raises(UnsupportedOpError, match="NonZero"):
        ziggurat.from_onnx(model)


def test_a_dynamic_model_takes_no_params_or_instruments() -> None:
    module, _ = ziggurat.from_onnx(reshape_model())
    with pytest.raises(CompileError, match="params were given"):
        ziggurat.build(module, params={"w": np.ones(2)})
    with pytest.raises(CompileError, match="verify_each need a static model"):
        ziggurat.build(module, verify_each=True)


def test_cli_runs_a_dynamic_model_without_shapes(tmp_path) -> None:
    path = tmp_path / "encoder.onnx"
    onnx.save(bert_encoder(batch=1, hidden=32, heads=2, layers=1, symbolic_seq=True), str(path))
    np.save(tmp_path / "x.npy", RNG.standard_normal((1, 11, 32)).astype(np.float32))
    onnx.save(reshape_model(), str(tmp_path / "reshape.onnx"))
    np.save(tmp_path / "r.npy", np.ones((2, 6), np.float32))
    np.save(tmp_path / "s.npy", np.array([4, 3]))
    ziggurat_cli = str(Path(sys.executable).parent / "ziggurat")
    commands = [
        [str(path), "--input", f"hidden_states={tmp_path / 'x.npy'}"],
        [str(tmp_path / "reshape.onnx"), "--input", f"x={tmp_path / 'r.npy'}"]
        + ["--input", f"s={tmp_path / 's.npy'}"],
    ]
    for args in commands:
        result = subprocess.run(
            [ziggurat_cli, "run", *args, "--check", "--repeat", "3"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        assert "-> OK" in result.stdout
    result = subprocess.run(
        [ziggurat_cli, "run", str(tmp_path / "reshape.onnx"), "--input", f"x={tmp_path / 'r.npy'}"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: input 's' not given: the model is compiled per input shapes, so every input "
        "needs --input NAME=FILE.npy"
    ]


def test_graph_module_threads_keep_their_own_inputs_and_variants() -> None:
    module, params = ziggurat.from_onnx(reshape_model())
    runner = GraphModule(ziggurat.build(module, params=params))
    failures: list[str] = []

    def serve(rows: int) -> None:
        x = np.full((rows, 6), float(rows), np.float32)
        target = np.array([rows * 2, 3])
        runner.set_input(x=x, s=target)
        for _ in range(10):
            runner.run()
            if not np.array_equal(runner.get_output(0), x.reshape(rows * 2, 3)):
                failures.append(f"thread with {rows} rows saw another thread's run")

    threads = [threading.Thread(target=serve, args=(rows,)) for rows in (1, 2, 3, 4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
