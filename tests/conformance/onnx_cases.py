"""The ONNX backend node tests, generated from the installed onnx package (onnx >= 1.23 ships
the generators, not the data), for the ops Ziggurat covers, and how to run one case.

Every input of a case is fed at run time, as the case defines it: nothing is bound as an
initializer, so nothing folds away at import and each passing case really compiles and runs.
"""

import warnings
from dataclasses import dataclass
from functools import cache

import numpy as np
import onnx
from onnx import numpy_helper

OPS = (
    "Conv ConvTranspose BatchNormalization MaxPool AveragePool GlobalAveragePool GlobalMaxPool "
    "Resize Pad MatMul Gemm Softmax LayerNormalization LRN Relu LeakyRelu PRelu Sigmoid "
    "HardSigmoid HardSwish Tanh Erf Gelu Clip Add Sub Mul Div Pow Sqrt Exp Log Neg Reciprocal "
    "Max Min Sum Equal Where ReduceMean ReduceSum ReduceMax Reshape Transpose Concat Split Slice "
    "Gather Squeeze Unsqueeze Flatten Expand Cast Shape ConstantOfShape Constant Range Identity "
    "Dropout Mod Round QuantizeLinear DequantizeLinear DynamicQuantizeLinear MatMulInteger "
    "ConvInteger QLinearMatMul QLinearConv If Loop Scan LSTM GRU RNN"
).split()

LOW_PRECISION = {
    "FLOAT8E4M3FN",
    "FLOAT8E4M3FNUZ",
    "FLOAT8E5M2",
    "FLOAT8E5M2FNUZ",
    "FLOAT8E8M0",
    "UINT4",
    "INT4",
    "FLOAT4E2M1",
    "UINT2",
    "INT2",
}


@dataclass(frozen=True)
class Case:
    name: str
    op: str
    model: onnx.ModelProto
    inputs: tuple[dict[str, np.ndarray], ...]
    outputs: tuple[list[np.ndarray], ...]
    rtol: float
    atol: float


def _uses_low_precision(model: onnx.ModelProto) -> bool:
    types = [v.type.tensor_type.elem_type for v in (*model.graph.input, *model.graph.output)]
    for node in model.graph.node:
        types += [a.i for a in node.attribute if a.name == "to"]
    return any(onnx.TensorProto.DataType.Name(t) in LOW_PRECISION for t in types if t)


def _array(data: object) -> np.ndarray:
    """A tensor's array; a sequence (If, Loop cases) as an object array of its tensors."""
    if isinstance(data, onnx.TensorProto):
        return numpy_helper.to_array(data)
    if isinstance(data, list) and any(isinstance(item, np.ndarray) for item in data):
        items = np.empty(len(data), dtype=object)
        items[:] = [np.asarray(item) for item in data]
        return items
    return np.asarray(data)


@cache
def cases() -> tuple[Case, ...]:
    """Single-node cases of the ops above, leaving out fp8/fp4/int4/int2 types."""
    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        collected = collect_testcases(None)
    found: list[Case] = []
    for case in collected:
        model = case.model
        if model is None or len(model.graph.node) != 1 or model.graph.node[0].op_type not in OPS:
            continue
        if _uses_low_precision(model):
            continue
        names_in = [v.name for v in model.graph.input]
        inputs, outputs = [], []
        for data_in, data_out in case.data_sets or []:
            inputs.append(dict(zip(names_in, [_array(d) for d in data_in], strict=False)))
            outputs.append([_array(d) for d in data_out])
        found.append(
            Case(
                case.name,
                model.graph.node[0].op_type,
                model,
                tuple(inputs),
                tuple(outputs),
                case.rtol,
                case.atol,
            )
        )
    return tuple(found)
