"""LSTM, GRU and RNN beyond the ONNX node cases: every attribute, optional inputs and outputs,
exporters' patterns and stacks, against onnxruntime (the reference interpreter and the
compiled code); layout=1, which onnxruntime's CPU provider refuses, against onnxruntime on the
same model in layout 0 with the transposes written out."""

from collections.abc import Sequence

import numpy as np
import onnx
import pytest
from models import onnxruntime_outputs
from onnx import TensorProto, helper, numpy_helper

import ziggurat
from ziggurat.core.errors import ModelImportError, UnsupportedOpError
from ziggurat.core.reference import run_reference
from ziggurat.runtime import GraphModule

GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
T, B, FEATURES, H = 5, 3, 4, 6


def _array(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return (rng.standard_normal(shape) * 0.5).astype(np.float32)


def recurrent_model(
    op: str,
    *,
    direction: str = "forward",
    inputs: Sequence[str] = ("X", "W", "R", "B"),
    outputs: Sequence[str] = ("Y", "Y_h"),
    runtime: Sequence[str] = ("X",),
    steps: int = T,
    batch: int = B,
    hidden: int = H,
    layout: int = 0,
    seed: int = 0,
    **attrs: object,
) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    """One recurrent node; the inputs named in `runtime` are graph inputs (with values to
    feed), the others initializers. Returns the model and the feeds."""
    rng = np.random.default_rng(seed)
    d = 2 if direction == "bidirectional" else 1
    width = GATES[op] * hidden
    state = (batch, d, hidden) if layout else (d, batch, hidden)
    values = {
        "X": _array(rng, batch, steps, FEATURES) if layout else _array(rng, steps, batch, FEATURES),
        "W": _array(rng, d, width, FEATURES),
        "R": _array(rng, d, width, hidden),
        "B": _array(rng, d, 2 * width),
        "lens": rng.integers(1, steps + 1, batch).astype(np.int32),
        "h0": _array(rng, *state),
        "c0": _array(rng, *state),
        "P": _array(rng, d, 3 * hidden),
    }
    node_attrs = {"hidden_size": hidden, "direction": direction, **attrs}
    if layout:
        node_attrs["layout"] = layout
    node = helper.make_node(op, list(inputs), list(outputs), name="rnn_node", **node_attrs)
    used = [name for name in inputs if name]
    graph_inputs = [
        helper.make_tensor_value_info(
            n,
            TensorProto.INT32 if n == "lens" else TensorProto.FLOAT,
            list(values[n].shape),
        )
        for n in used
        if n in runtime
    ]
    initializers = [numpy_helper.from_array(values[n], n) for n in used if n not in runtime]
    graph = helper.make_graph(
        [node],
        "recurrent",
        graph_inputs,
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in outputs if n],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    return model, {n: values[n] for n in used if n in runtime}


def check(
    model: onnx.ModelProto,
    feeds: dict[str, np.ndarray],
    expected: list[np.ndarray] | None = None,
    reference: bool = True,
) -> None:
    """Ziggurat's reference interpreter and compiled code against `expected` (by default
    onnxruntime's outputs), rtol = atol = 1e-4."""
    if expected is None:
        expected = onnxruntime_outputs(model, feeds)
    module, params = ziggurat.from_onnx(model)
    if reference:
        for got, want in zip(run_reference(module, params, feeds), expected, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    runner = GraphModule(ziggurat.build(module, params=params))
    runner.run(**feeds)
    for n, want in enumerate(expected):
        np.testing.assert_allclose(runner.get_output(n), want, rtol=1e-4, atol=1e-4)


def _full(op: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Every input and output the op has."""
    if op == "LSTM":
        return ("X", "W", "R", "B", "lens", "h0", "c0", "P"), ("Y", "Y_h", "Y_c")
    return ("X", "W", "R", "B", "lens", "h0"), ("Y", "Y_h")


@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
@pytest.mark.parametrize("op", ["LSTM", "GRU", "RNN"])
def test_every_input_and_output(op: str, direction: str) -> None:
    """sequence_lens shorter than T, initial states and (LSTM) peepholes, all fed at run time."""
    inputs, outputs = _full(op)
    extra = {"linear_before_reset": 1} if op == "GRU" else {}
    model, feeds = recurrent_model(
        op,
        direction=direction,
        inputs=inputs,
        outputs=outputs,
        runtime=("X", "lens", "h0", "c0"),
        **extra,
    )
    assert feeds["lens"].min() < T
    check(model, feeds)


@pytest.mark.parametrize("op", ["LSTM", "GRU", "RNN"])
def test_entry_of_length_zero(op: str) -> None:
    """An entry of length 0: Y, Y_h and Y_c all zeros (onnxruntime's answer)."""
    inputs, outputs = _full(op)
    model, feeds = recurrent_model(
        op,
        direction="bidirectional",
        inputs=inputs,
        outputs=outputs,
        runtime=("X", "lens", "h0", "c0"),
    )
    feeds["lens"] = np.array([0, T, 2], np.int32)
    check(model, feeds)


def test_lengths_out_of_range_are_clamped() -> None:
    """Run-time lengths above T or below 0 act as T and 0 (onnxruntime refuses them): the
    kernel never reads or writes past its buffers."""
    inputs, outputs = _full("GRU")
    model, feeds = recurrent_model(
        "GRU", direction="bidirectional", inputs=inputs, outputs=outputs, runtime=("X", "lens")
    )
    clamped = dict(feeds, lens=np.array([T, 0, 2], np.int32))
    expected = onnxruntime_outputs(model, clamped)
    check(model, dict(feeds, lens=np.array([T + 7, -3, 2], np.int32)), expected, reference=False)


@pytest.mark.parametrize("lbr", [0, 1])
@pytest.mark.parametrize("direction", ["forward", "bidirectional"])
def test_gru_reset_gate_placement(direction: str, lbr: int) -> None:
    """linear_before_reset (PyTorch's and Paddle's GRU) and the ONNX default, with weights fed
    at run time (packed by graph ops, not at import)."""
    model, feeds = recurrent_model(
        "GRU",
        direction=direction,
        inputs=("X", "W", "R", "B", "lens", "h0"),
        runtime=("X", "W", "R", "B", "lens", "h0"),
        hidden=8,
        linear_before_reset=lbr,
    )
    check(model, feeds)


ACTIVATIONS = [
    ("Relu", [], []),
    ("Tanh", [], []),
    ("Sigmoid", [], []),
    ("Affine", [0.7], [0.2]),
    ("LeakyRelu", [0.3], []),
    ("ThresholdedRelu", [0.2], []),
    ("ScaledTanh", [1.5], [0.6]),
    ("HardSigmoid", [0.3], [0.4]),
    ("Elu", [0.8], []),
    ("Softsign", [], []),
    ("Softplus", [], []),
]


@pytest.mark.parametrize(("name", "alpha", "beta"), ACTIVATIONS)
def test_rnn_activation(name: str, alpha: list, beta: list) -> None:
    attrs: dict[str, object] = {"activations": [name]}
    if alpha:
        attrs["activation_alpha"] = alpha
    if beta:
        attrs["activation_beta"] = beta
    model, feeds = recurrent_model("RNN", **attrs)
    check(model, feeds)


def test_default_alphas_and_lowercase_names() -> None:
    """LeakyRelu and HardSigmoid without alpha/beta take onnxruntime's defaults."""
    model, feeds = recurrent_model(
        "GRU", activations=["hardsigmoid", "LeakyRelu"], linear_before_reset=1
    )
    check(model, feeds)


def test_lstm_activations_per_direction() -> None:
    """Six activations, different in each direction, alphas and betas consumed in order."""
    model, feeds = recurrent_model(
        "LSTM",
        direction="bidirectional",
        outputs=("Y", "Y_h", "Y_c"),
        activations=["HardSigmoid", "Tanh", "Softsign", "Sigmoid", "ScaledTanh", "Elu"],
        activation_alpha=[0.25, 1.2, 0.9],
        activation_beta=[0.45, 0.8],
    )
    check(model, feeds)


@pytest.mark.parametrize("op", ["LSTM", "GRU", "RNN"])
def test_clip(op: str) -> None:
    inputs, outputs = _full(op)
    model, feeds = recurrent_model(
        op, direction="bidirectional", inputs=inputs, outputs=outputs, clip=0.4
    )
    check(model, feeds)


def test_lstm_input_forget_with_peepholes() -> None:
    inputs, outputs = _full("LSTM")
    model, feeds = recurrent_model(
        "LSTM", inputs=inputs, outputs=outputs, runtime=("X", "lens"), input_forget=1
    )
    check(model, feeds)


@pytest.mark.parametrize(
    ("op", "inputs", "outputs"),
    [
        ("LSTM", ("X", "W", "R", "", "", "h0"), ("", "Y_h")),
        ("LSTM", ("X", "W", "R", "B", "", "", "c0"), ("Y", "", "Y_c")),
        ("LSTM", ("X", "W", "R", "", "lens", "", "", "P"), ("", "", "Y_c")),
        ("GRU", ("X", "W", "R", "", "lens"), ("Y",)),
        ("RNN", ("X", "W", "R", "", "", "h0"), ("", "Y_h")),
    ],
)
def test_omitted_inputs_and_outputs(op: str, inputs: tuple, outputs: tuple) -> None:
    model, feeds = recurrent_model(
        op, inputs=inputs, outputs=outputs, runtime=("X", "lens", "h0", "c0")
    )
    check(model, feeds)


@pytest.mark.parametrize("op", ["LSTM", "GRU", "RNN"])
def test_layout_1(op: str) -> None:
    """Batch-major X, Y and states, against the same node in layout 0 between transposes."""
    inputs, outputs = _full(op)
    model, feeds = recurrent_model(
        op,
        direction="bidirectional",
        inputs=inputs,
        outputs=outputs,
        runtime=("X", "lens", "h0", "c0"),
        layout=1,
    )
    expected = _layout_0_outputs(model, feeds)
    check(model, feeds, expected)


def _layout_0_outputs(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    """onnxruntime's outputs of the layout-1 `model` rewritten to layout 0."""
    node = model.graph.node[0]
    converted = {"X": feeds["X"].transpose(1, 0, 2), "lens": feeds["lens"]}
    for state in ("h0", "c0"):
        if state in feeds:
            converted[state] = feeds[state].transpose(1, 0, 2)
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute if a.name != "layout"}
    plain = helper.make_node(node.op_type, list(node.input), list(node.output), **attrs)
    graph = helper.make_graph(
        [plain],
        "layout0",
        [
            helper.make_tensor_value_info(
                n, TensorProto.INT32 if n == "lens" else TensorProto.FLOAT, list(v.shape)
            )
            for n, v in converted.items()
        ],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in node.output if n],
        list(model.graph.initializer),
    )
    layout0 = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    layout0.ir_version = 8
    outputs = onnxruntime_outputs(layout0, converted)
    perms = {"Y": (2, 0, 1, 3), "Y_h": (1, 0, 2), "Y_c": (1, 0, 2)}
    named = [n for n in node.output if n]
    return [value.transpose(perms[n]) for n, value in zip(named, outputs, strict=True)]


def _stack(layers: int, op: str, batch_first: bool) -> onnx.ModelProto:
    """torch.onnx's pattern: per layer one bidirectional node, Transpose[0,2,1,3] and
    Reshape[0,0,-1] after it; batch_first inputs transposed in and out."""
    rng = np.random.default_rng(3)
    nodes, inits = [], []
    x, features = "x", FEATURES
    if batch_first:
        nodes.append(helper.make_node("Transpose", ["x"], ["x_tm"], perm=[1, 0, 2]))
        x = "x_tm"
    shape = numpy_helper.from_array(np.array([0, 0, -1], np.int64), "shape")
    inits.append(shape)
    extra = {"linear_before_reset": 1} if op == "GRU" else {}
    for n in range(layers):
        width = GATES[op] * H
        for name, value in (
            (f"w{n}", _array(rng, 2, width, features)),
            (f"r{n}", _array(rng, 2, width, H)),
            (f"b{n}", _array(rng, 2, 2 * width)),
        ):
            inits.append(numpy_helper.from_array(value, name))
        nodes += [
            helper.make_node(
                op,
                [x, f"w{n}", f"r{n}", f"b{n}"],
                [f"y{n}"],
                hidden_size=H,
                direction="bidirectional",
                **extra,
            ),
            helper.make_node("Transpose", [f"y{n}"], [f"t{n}"], perm=[0, 2, 1, 3]),
            helper.make_node("Reshape", [f"t{n}", "shape"], [f"o{n}"]),
        ]
        x, features = f"o{n}", 2 * H
    if batch_first:
        nodes.append(helper.make_node("Transpose", [x], ["out"], perm=[1, 0, 2]))
        x = "out"
    shape_in = [B, T, FEATURES] if batch_first else [T, B, FEATURES]
    graph = helper.make_graph(
        nodes,
        "stack",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape_in)],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, None)],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    return model


@pytest.mark.parametrize(("op", "batch_first"), [("LSTM", False), ("GRU", True)])
def test_two_layer_bidirectional_stack(op: str, batch_first: bool) -> None:
    model = _stack(2, op, batch_first)
    shape = (B, T, FEATURES) if batch_first else (T, B, FEATURES)
    x = np.random.default_rng(4).standard_normal(shape).astype(np.float32)
    check(model, {"x": x})


def test_pytorch_unidirectional_export() -> None:
    """batch_first LSTM: Transpose in, Squeeze(axis 1) of Y, Transpose out, states out."""
    rng = np.random.default_rng(5)
    inits = [
        numpy_helper.from_array(_array(rng, 1, 4 * H, FEATURES), "w"),
        numpy_helper.from_array(_array(rng, 1, 4 * H, H), "r"),
        numpy_helper.from_array(_array(rng, 1, 8 * H), "b"),
        numpy_helper.from_array(np.array([1], np.int64), "axes"),
    ]
    nodes = [
        helper.make_node("Transpose", ["x"], ["xt"], perm=[1, 0, 2]),
        helper.make_node(
            "LSTM", ["xt", "w", "r", "b", "", "h0", "c0"], ["y", "hn", "cn"], hidden_size=H
        ),
        helper.make_node("Squeeze", ["y", "axes"], ["ys"]),
        helper.make_node("Transpose", ["ys"], ["out"], perm=[1, 0, 2]),
    ]
    graph = helper.make_graph(
        nodes,
        "torch_lstm",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [B, T, FEATURES]),
            helper.make_tensor_value_info("h0", TensorProto.FLOAT, [1, B, H]),
            helper.make_tensor_value_info("c0", TensorProto.FLOAT, [1, B, H]),
        ],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("out", "hn", "cn")],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    feeds = {
        "x": _array(rng, B, T, FEATURES),
        "h0": _array(rng, 1, B, H),
        "c0": _array(rng, 1, B, H),
    }
    check(model, feeds)


def test_wide_hidden_state_blocks() -> None:
    """A hidden size whose gate columns are not a multiple of the widest block (H = 20:
    LSTM's 80 columns in blocks of 16) and one that is (H = 32), batch 1."""
    for hidden in (20, 32):
        inputs, outputs = _full("LSTM")
        model, feeds = recurrent_model(
            "LSTM", inputs=inputs, outputs=outputs, hidden=hidden, batch=1, steps=7
        )
        check(model, feeds, reference=False)


@pytest.mark.parametrize(
    ("op", "hidden", "lbr"), [("LSTM", 128, 0), ("GRU", 160, 0), ("GRU", 128, 1)]
)
def test_unidirectional_steps_split_across_cores(op: str, hidden: int, lbr: int) -> None:
    """Steps big enough to run their product's column blocks in parallel (a fork-join per
    step), with sequence_lens and initial states."""
    inputs, outputs = _full(op)
    extra = {"linear_before_reset": lbr} if op == "GRU" else {}
    model, feeds = recurrent_model(
        op,
        direction="reverse",
        inputs=inputs,
        outputs=outputs,
        runtime=("X", "lens", "h0", "c0"),
        hidden=hidden,
        batch=2,
        **extra,
    )
    check(model, feeds, reference=False)


def test_unknown_activation_is_refused_naming_the_node() -> None:
    model, _ = recurrent_model("RNN", activations=["Swish"])
    with pytest.raises(UnsupportedOpError, match="RNN") as err:
        ziggurat.from_onnx(model)
    assert "rnn_node" in str(err.value)


def test_bad_weight_shape_names_the_node() -> None:
    model, _ = recurrent_model("GRU", hidden=H)
    hidden_size = next(a for a in model.graph.node[0].attribute if a.name == "hidden_size")
    hidden_size.i = H + 1
    with pytest.raises(ModelImportError, match="rnn_node"):
        ziggurat.from_onnx(model)


def test_double_input_is_refused_naming_the_node() -> None:
    model, _ = recurrent_model("LSTM")
    model.graph.input[0].type.tensor_type.elem_type = TensorProto.DOUBLE
    with pytest.raises(UnsupportedOpError, match="float32") as err:
        ziggurat.from_onnx(model)
    assert "rnn_node" in str(err.value)


def test_wrong_activation_count_names_the_node() -> None:
    model, _ = recurrent_model("GRU", direction="bidirectional", activations=["Sigmoid", "Tanh"])
    with pytest.raises(ModelImportError, match="rnn_node.*takes 4 activations"):
        ziggurat.from_onnx(model)
