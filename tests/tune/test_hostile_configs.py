"""Tuned configs whose knobs are of the wrong type or out of range (a hand-edited or damaged
tuning log; found by tests/fuzz): the kernel gets its default schedule, and a strict table
(measuring a candidate) says why."""

import numpy as np
import pytest
from models import mlp_model

import ziggurat
from ziggurat.core.errors import ZigguratError
from ziggurat.runtime import GraphModule
from ziggurat.schedule.dispatch import use_configs
from ziggurat.schedule.space import Config
from ziggurat.tune.tasks import extract_tasks

TARGET = "llvm"


def _outputs(lib) -> np.ndarray:
    runner = GraphModule(lib)
    runner.run(input=np.linspace(-1, 1, 4, dtype=np.float32).reshape(1, 4))
    return runner.get_output(0)


@pytest.fixture(scope="module")
def mlp():
    module, params = ziggurat.from_onnx(mlp_model(1, (4, 8, 3)))
    task = extract_tasks(module, TARGET, params)[0]
    return module, params, task


@pytest.mark.parametrize(
    "knob, value",
    [("tile_cols", "ij"), ("tile_cols", 0), ("tile_rows", -1), ("column", -2),
     ("order", True), ("parallel", "everywhere"), ("unroll", None)],
)  # fmt: skip
def test_a_malformed_knob_falls_back_to_the_default(mlp, knob: str, value: object) -> None:
    module, params, task = mlp
    expected = _outputs(ziggurat.build(module, target=TARGET, params=params))
    config = Config.of({**dict(task.default.entries), knob: value})
    with use_configs({task.key: config}):
        lib = ziggurat.build(module, target=TARGET, params=params, use_cache=False)
    np.testing.assert_allclose(_outputs(lib), expected, rtol=1e-6)


def test_a_strict_table_names_the_malformed_knob(mlp) -> None:
    module, params, task = mlp
    config = Config.of({**dict(task.default.entries), "tile_cols": "ij"})
    with (
        use_configs({task.key: config}, strict=True),
        pytest.raises(ZigguratError, match="knob tile_cols='ij' is not a whole number"),
    ):
        ziggurat.build(module, target=TARGET, params=params, use_cache=False)
