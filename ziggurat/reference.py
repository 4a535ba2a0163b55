"""A numpy interpreter for the graph dialect: the oracle that pass and codegen tests compare
against, independent of every lowering."""

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.ir import Operation

from ziggurat.dialects import graph
from ziggurat.errors import ZigguratError


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    shifted = np.exp(x - x.max(axis=axis, keepdims=True))
    return shifted / shifted.sum(axis=axis, keepdims=True)


def _matmul(op: graph.MatmulOp, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if op.transpose_a is not None:
        a = np.swapaxes(a, -1, -2)
    if op.transpose_b is not None:
        b = np.swapaxes(b, -1, -2)
    return (np.matmul(a, b) * np.float32(op.scale)).astype(np.float32)


def _layer_norm(
    op: graph.LayerNormOp, x: np.ndarray, scale: np.ndarray, bias: np.ndarray
) -> np.ndarray:
    axes = tuple(range(op.axis.value.data, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(variance + np.float32(op.epsilon.value.data)) * scale + bias


_erf = np.vectorize(math.erf, otypes=[np.float64])


def _gelu(op: graph.GeluOp, x: np.ndarray) -> np.ndarray:
    if op.approximate.data == "tanh":
        return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
    return 0.5 * x * (1 + _erf(x / np.sqrt(2)))


Evaluator = Callable[..., np.ndarray]

EVALUATORS: dict[type[Operation], Evaluator] = {
    graph.ReluOp: lambda op, x: np.maximum(x, np.float32(0)),
    graph.SigmoidOp: lambda op, x: 1 / (1 + np.exp(-x)),
    graph.TanhOp: lambda op, x: np.tanh(x),
    graph.ErfOp: lambda op, x: _erf(x),
    graph.ExpOp: lambda op, x: np.exp(x),
    graph.LogOp: lambda op, x: np.log(x),
    graph.SqrtOp: lambda op, x: np.sqrt(x),
    graph.NegOp: lambda op, x: -x,
    graph.ReciprocalOp: lambda op, x: 1 / x,
    graph.GeluOp: _gelu,
    graph.AddOp: lambda op, a, b: a + b,
    graph.SubOp: lambda op, a, b: a - b,
    graph.MulOp: lambda op, a, b: a * b,
    graph.DivOp: lambda op, a, b: a / b,
    graph.PowOp: lambda op, a, b: np.power(a, b),
    graph.MaxOp: lambda op, a, b: np.maximum(a, b),
    graph.MinOp: lambda op, a, b: np.minimum(a, b),
    graph.TransposeOp: lambda op, x: np.transpose(x, op.permutation),
    graph.LayerNormOp: _layer_norm,
    graph.MatmulOp: _matmul,
    graph.SoftmaxOp: lambda op, x: _softmax(x, op.axis.value.data),
    graph.ReshapeOp: lambda op, x: x.reshape(graph.tensor_shape(op.result)),
}
"""numpy semantics of each graph op, called with the op and its operand arrays."""


def _main(module: ModuleOp) -> func.FuncOp:
    for op in module.ops:
        if isinstance(op, func.FuncOp) and op.sym_visibility is None and op.body.blocks:
            return op
    raise ZigguratError("the module has no public function to run")


def input_names(function: func.FuncOp) -> list[str]:
    names: list[str] = []
    for n in range(len(function.body.block.args)):
        name = function.arg_attrs.data[n].data.get(graph.NAME_ATTR) if function.arg_attrs else None
        names.append(name.data if isinstance(name, StringAttr) else f"input{n}")
    return names


def run_reference(
    module: ModuleOp,
    params: Mapping[str, np.ndarray],
    inputs: Mapping[str, np.ndarray] | Sequence[np.ndarray],
) -> list[np.ndarray]:
    """Runs the graph function of `module` on numpy arrays; inputs by name or position."""
    function = _main(module)
    names = input_names(function)
    if not isinstance(inputs, Mapping):
        inputs = dict(zip(names, inputs, strict=True))
    values: dict[object, np.ndarray] = {}
    for name, arg in zip(names, function.body.block.args, strict=True):
        if name not in inputs:
            raise ZigguratError(f"no value given for input {name!r}")
        values[arg] = np.asarray(inputs[name], dtype=np.float32)
    for op in function.body.block.ops:
        if isinstance(op, func.ReturnOp):
            return [values[v] for v in op.arguments]
        if isinstance(op, graph.WeightOp):
            values[op.result] = np.asarray(params[op.weight_name.data])
        elif isinstance(op, graph.ConstantOp):
            shape = graph.tensor_shape(op.result)
            values[op.result] = np.array(op.value.get_values(), dtype=np.float32).reshape(shape)
        elif type(op) in EVALUATORS:
            result = EVALUATORS[type(op)](op, *(values[v] for v in op.operands))
            values[op.results[0]] = np.asarray(result, dtype=np.float32)
        else:
            raise ZigguratError(f"the reference executor cannot run {op.name}")
    raise ZigguratError("the graph function has no return")
