"""Whole models through the public API against onnxruntime."""

import numpy as np
from models import onnxruntime_outputs, random_inputs

import ziggurat
from benchmarks.models.bert import bert_encoder
from ziggurat.runtime import GraphModule


def test_bert_style_encoder_matches_onnxruntime() -> None:
    model = bert_encoder()
    module, params = ziggurat.from_onnx(model)
    runner = GraphModule(ziggurat.build(module, params=params))
    inputs = random_inputs({"hidden_states": (1, 128, 128)})
    runner.run(**inputs)
    (expected,) = onnxruntime_outputs(model, inputs)
    np.testing.assert_allclose(runner.get_output(0), expected, rtol=1e-3, atol=1e-4)
