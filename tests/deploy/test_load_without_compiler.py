"""Export, then load and run where xdsl, llvmlite and onnx cannot be imported: the same
outputs as the in-process build, through the AOT entry."""

from pathlib import Path

import numpy as np
import pytest
from deploy_support import build, random_inputs, run_in_process, run_without_compiler
from models import mlp_model

from benchmarks.models.bert import bert_encoder
from benchmarks.models.resnet import resnet18
from ziggurat.runtime import GraphModule


def _round_trip(model, tmp_path: Path) -> None:
    lib = build(model)
    inputs = random_inputs(GraphModule(lib))
    expected = run_in_process(lib, inputs)
    package = lib.export_library(tmp_path / "model.zgt")
    outputs, report = run_without_compiler(package, inputs, tmp_path)
    assert report == {"uses_entry": True, "loaded": []}
    assert len(outputs) == len(expected)
    for got, want in zip(outputs, expected, strict=True):
        np.testing.assert_array_equal(got, want)


def test_mlp(tmp_path: Path) -> None:
    _round_trip(mlp_model(4, sizes=(64, 32, 10)), tmp_path)


def test_bert_encoder(tmp_path: Path) -> None:
    _round_trip(bert_encoder(), tmp_path)


def test_resnet18_on_small_images(tmp_path: Path) -> None:
    """Parallel kernels inlined into the entry: the export once crashed here when its object
    code came from a module that the JIT's code generation had already rewritten."""
    _round_trip(resnet18(image=32, classes=10), tmp_path)


@pytest.mark.slow
def test_resnet18(tmp_path: Path) -> None:
    _round_trip(resnet18(), tmp_path)
