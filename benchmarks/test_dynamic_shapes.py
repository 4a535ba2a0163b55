"""The BERT-style encoder with a symbolic sequence length: one build (a VariantModule), every
length from 16 to 512 run through it, each length's latency beside the static build of the
same shape and beside onnxruntime's session of the symbolic model, and the seconds a new
variant takes to compile (code cache off, so each is compiled from scratch)."""

import time

import numpy as np
import pytest

import ziggurat
from benchmarks.harness import median_seconds, onnxruntime_sessions
from benchmarks.models.bert import bert_encoder
from ziggurat.runtime import GraphModule

LENGTHS = (16, 32, 64, 128, 256, 512)
HIDDEN = 128


@pytest.fixture(scope="module")
def symbolic_encoder():
    """The symbolic model and its one build."""
    model = bert_encoder(symbolic_seq=True)
    module, params = ziggurat.from_onnx(model)
    return model, ziggurat.build(module, params=params, use_cache=False)


@pytest.mark.parametrize("seq", LENGTHS)
def test_symbolic_length_against_static_build(benchmark, report, symbolic_encoder, seq) -> None:
    model, lib = symbolic_encoder
    rng = np.random.default_rng(seq)
    inputs = {"hidden_states": rng.standard_normal((1, seq, HIDDEN)).astype(np.float32)}
    before = lib.variant_stats().compile_seconds
    runner = GraphModule(lib)
    runner.run(**inputs)
    compile_seconds = lib.variant_stats().compile_seconds - before
    dynamic_output = runner.get_output(0)
    static_module, static_params = ziggurat.from_onnx(bert_encoder(seq=seq))
    static_runner = GraphModule(ziggurat.build(static_module, params=static_params))
    static_runner.set_input(**inputs)
    # Alternating rounds, the best median of each: the shared machine's load moves.
    # Each run is given its input, as a serving loop does: the variant's lookup is timed.
    rounds = [
        (median_seconds(lambda: runner.run(**inputs), repeat=30, warmup=3),
         median_seconds(lambda: static_runner.run(**inputs), repeat=30, warmup=3))
        for _ in range(3)
    ]  # fmt: skip
    dynamic, static = min(r[0] for r in rounds), min(r[1] for r in rounds)
    started = time.perf_counter()
    repeats = 2000
    for _ in range(repeats):
        lib.select_variant(inputs)
    dispatch = (time.perf_counter() - started) / repeats
    benchmark.pedantic(runner.run, rounds=3, iterations=1)

    # onnxruntime's sessions are made only now: their spinning threads would take the cores.
    sessions = onnxruntime_sessions(model.SerializeToString())
    expected = sessions[0].run(None, inputs)[0]
    np.testing.assert_allclose(dynamic_output, expected, rtol=1e-3, atol=1e-4)
    ort = min(
        median_seconds(lambda s=s: s.run(None, inputs), repeat=30, warmup=3) for s in sessions
    )
    del sessions
    benchmark.extra_info.update(
        {
            "variant_ms": dynamic * 1e3,
            "static_ms": static * 1e3,
            "onnxruntime_ms": ort * 1e3,
            "compile_s": compile_seconds,
            "dispatch_us": dispatch * 1e6,
        }
    )
    report.append(
        f"encoder seq {seq:3d}: variant {dynamic * 1e3:7.3f} ms | static {static * 1e3:7.3f} ms "
        f"(variant/static {dynamic / static:.2f}) | onnxruntime {ort * 1e3:7.3f} ms "
        f"(variant/onnxruntime {dynamic / ort:.2f}) | new variant compiled in "
        f"{compile_seconds:.2f} s | dispatch {dispatch * 1e6:.1f} us"
    )
