"""Whole models through the public API against onnxruntime. The full-size ones and the light
model-zoo graphs shipped in the onnx wheel are marked slow: `pytest -m slow`."""

from pathlib import Path

import numpy as np
import onnx
import pytest
from models import onnxruntime_outputs

import ziggurat
from benchmarks.models.bert import bert_encoder
from benchmarks.models.mobilenet import mobilenet_v2
from benchmarks.models.resnet import resnet18
from ziggurat.runtime import GraphModule

LIGHT = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
LIGHT_MODELS = sorted(p.stem[len("light_") :] for p in LIGHT.glob("light_*.onnx"))


def compile_and_compare(model: onnx.ModelProto, rtol: float, atol: float) -> None:
    module, params = ziggurat.from_onnx(model)
    lib = ziggurat.build(module, params=params)
    runner = GraphModule(lib)
    rng = np.random.default_rng(0)
    inputs = {}
    for name, index in zip(runner.input_names, lib.plan["inputs"], strict=True):
        inputs[name] = rng.standard_normal(lib.plan["buffers"][index]["shape"]).astype(np.float32)
    runner.run(**inputs)
    for n, expected in enumerate(onnxruntime_outputs(model, inputs)):
        np.testing.assert_allclose(runner.get_output(n), expected, rtol=rtol, atol=atol)


def test_bert_style_encoder_matches_onnxruntime() -> None:
    compile_and_compare(bert_encoder(), rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("builder", [resnet18, mobilenet_v2], ids=["resnet18", "mobilenet_v2"])
def test_cnn_at_small_resolution(builder) -> None:
    compile_and_compare(builder(image=64), rtol=1e-3, atol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("builder", [resnet18, mobilenet_v2], ids=["resnet18", "mobilenet_v2"])
def test_cnn_at_full_resolution(builder) -> None:
    compile_and_compare(builder(), rtol=1e-3, atol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("name", LIGHT_MODELS)
def test_light_model_zoo(name: str) -> None:
    """Their weights are constants computed by ConstantOfShape: folded at import."""
    compile_and_compare(onnx.load(str(LIGHT / f"light_{name}.onnx")), rtol=1e-3, atol=1e-3)
