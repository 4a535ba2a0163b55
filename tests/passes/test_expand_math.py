"""sched-expand-math: f32 exp, erf and tanh as vectorized polynomials, against float64
references over the whole range, special values included."""

import math

import numpy as np
import pytest
from onnx import TensorProto, helper

import ziggurat
from ziggurat.runtime import GraphModule

SPECIAL = [0.0, -0.0, 1e-30, -1e-8, 1e-4, 0.49999, 0.5, 0.62, 0.63, 3.0, -9.5, 20.0]
EDGES = [88.7, 88.73, 89.0, -87.3, -87.4, -103.0, np.inf, -np.inf, np.nan]


def values() -> np.ndarray:
    rng = np.random.default_rng(3)
    spread = np.concatenate(
        [rng.uniform(-90, 90, 2000), rng.standard_normal(2000) * 3, SPECIAL, EDGES]
    )
    return spread.astype(np.float32).reshape(1, -1)


def run_op(op_type: str, x: np.ndarray) -> tuple[np.ndarray, str]:
    graph = helper.make_graph(
        [helper.make_node(op_type, ["x"], ["y"])],
        op_type,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(x.shape))],
    )
    module, params = ziggurat.from_onnx(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    )
    lib = ziggurat.build(module, params=params)
    runner = GraphModule(lib)
    runner.run(x=x)
    return runner.get_output(0), lib.keepalive.llvm_ir


REFERENCES = {
    "Exp": np.exp,
    "Tanh": np.tanh,
    "Erf": np.vectorize(math.erf, otypes=[np.float64]),
}


@pytest.mark.parametrize("op_type", sorted(REFERENCES))
def test_expansion_matches_float64(op_type: str) -> None:
    x = values()
    with np.errstate(over="ignore"):
        expected = REFERENCES[op_type](x.astype(np.float64)).astype(np.float32)
    got, llvm_ir = run_op(op_type, x)
    assert f"@{op_type.lower()}f" not in llvm_ir and "@llvm.exp" not in llvm_ir
    np.testing.assert_allclose(got, expected, rtol=2e-6, atol=2e-7)
