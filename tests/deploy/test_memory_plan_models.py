"""The memory plan on whole models: fewer bytes than one allocation per intermediate, and the
same outputs as without sharing."""

import numpy as np
import pytest
from deploy_support import build, random_inputs, run_in_process

from benchmarks.models.bert import bert_encoder
from benchmarks.models.mobilenet import mobilenet_v2
from benchmarks.models.resnet import resnet18
from ziggurat.runtime import GraphModule, Module


def _unplanned(lib: Module) -> Module:
    buffers = [{k: v for k, v in b.items() if k != "offset"} for b in lib.plan["buffers"]]
    plan = {k: v for k, v in lib.plan.items() if k != "arena_bytes"}
    return Module({**plan, "buffers": buffers}, lib.params, lib.get_function)


@pytest.mark.parametrize(
    "builder, most_bytes",
    [
        (bert_encoder, 0.5),
        pytest.param(resnet18, 0.5, marks=pytest.mark.slow),
        pytest.param(mobilenet_v2, 0.3, marks=pytest.mark.slow),
    ],
)
def test_planned_bytes_and_outputs(builder, most_bytes: float) -> None:
    lib = build(builder())
    report = lib.memory_report()
    assert report.planned_bytes <= most_bytes * report.naive_bytes
    inputs = random_inputs(GraphModule(lib))
    np.testing.assert_array_equal(
        run_in_process(lib, inputs)[0], run_in_process(_unplanned(lib), inputs)[0]
    )
