"""`ziggurat.quantize`: a float graph module to a QDQ (int8) or bf16-product one (TVM's
`relay.quantize`, onnxruntime's `quantize_static`).

    qmod, qparams = ziggurat.quantize(mod, params, calibration=[{"input": x}, ...])
    lib = ziggurat.build(qmod, params=qparams)

int8: the module is first simplified as a build would (batch norms folded into the
convolutions, constants folded), then calibrated: a build of it with every tensor to quantize
as an extra output runs on the calibration samples, and ziggurat/calibration.py turns what
it saw into ranges ("minmax", "percentile", "entropy") and scales. Each convolution and
matmul with constant weights gets the QDQ form onnxruntime's quantize_static writes with
QUInt8 activations and QInt8 weights: its input and output quantized (uint8, asymmetric; a
product followed by a relu takes the relu's range, so the clamp happens in the
requantization), its weight int8 symmetric (per output channel by default), its bias int32
at scale input_scale * weight_scale. graph-fuse-qdq then makes integer products of them.
By default (`skip_default=True`) these stay float, as TVM's `skip_conv_layers=[0]` and
onnxruntime's experience advise: convolutions reading at most 4 channels (the RGB stem: its
input is raw pixels and its K = C*kh*kw is too small to gain), depthwise convolutions
(K = kh*kw, little to gain, the most to lose per channel) and the head, a product whose
output is a model output directly or through a softmax (TVM's `skip_dense_layer`: its
output quantized to 256 levels ties near-equal logits and changes the top-1 answer, for a
small share of the time); softmax and every op but the products are never quantized. `skip` names more (a product's result name or its weight's
name, as the IR prints them).

bf16: no calibration; see ziggurat/bf16_products.py.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    ArrayAttr,
    DictionaryAttr,
    FunctionType,
    ModuleOp,
    StringAttr,
    f32,
    i8,
    i32,
)
from xdsl.ir import Attribute, Block, BlockArgument, Operation, OpResult, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from ziggurat import calibration
from ziggurat.core.context import make_context
from ziggurat.core.errors import CompileError
from ziggurat.core.pass_manager import PassManager
from ziggurat.core.pipelines import FOLD, SIMPLIFY
from ziggurat.core.reference import input_names
from ziggurat.dialects import graph
from ziggurat.frontend.onnx.dynamic import DynamicModel
from ziggurat.passes.graph.constants import constant_value, make_constant

SCHEMES = ("int8", "bf16")
ui8 = graph.NUMPY_ELEMENT_TYPES["uint8"]


@dataclass
class Product:
    """A convolution or matmul with constant weights: its op, the add of its bias (matmuls)
    and the value the quantization of its output replaces."""

    op: graph.ConvOp | graph.MatmulOp
    bias_add: graph.AddOp | None

    @property
    def output(self) -> SSAValue:
        return (self.bias_add or self.op).results[0]

    @property
    def data(self) -> SSAValue:
        return self.op.input if isinstance(self.op, graph.ConvOp) else self.op.lhs

    @property
    def weight(self) -> SSAValue:
        return self.op.weight if isinstance(self.op, graph.ConvOp) else self.op.rhs

    def names(self) -> set[str]:
        found = {v.name_hint for v in (self.op.results[0], self.output) if v.name_hint}
        owner = self.weight.owner
        if isinstance(owner, graph.WeightOp):
            found.add(owner.weight_name.data)
        return found


def main_function(module: ModuleOp) -> func.FuncOp:
    for op in module.ops:
        if isinstance(op, func.FuncOp) and op.sym_visibility is None and op.body.blocks:
            return op
    raise CompileError("the module has no public function to quantize")


def prepared(mod: ModuleOp, params: Mapping[str, np.ndarray]) -> tuple[ModuleOp, dict]:
    """The module simplified as a build's graph passes would before graph-fuse-qdq (batch
    norms folded into convolutions), so the weights quantized are the ones computed."""
    ctx = make_context({n: np.asarray(v) for n, v in params.items()})
    module = mod.clone()
    PassManager.parse(",".join([*SIMPLIFY, *FOLD])).run(ctx, module)
    return module, dict(ctx.params)


def _matmul_bias(op: graph.MatmulOp, params: dict) -> graph.AddOp | None:
    if not op.result.has_one_use():
        return None
    add = next(iter(op.result.uses)).operation
    if not isinstance(add, graph.AddOp):
        return None
    other = add.rhs if add.lhs is op.result else add.lhs
    columns = graph.tensor_shape(op.result)[-1]
    value = constant_value(other, params)
    if value is None or value.size != columns or graph.element_type_of(other) != f32:
        return None
    return add


def products(module: ModuleOp, params: dict) -> list[Product]:
    """The float convolutions and 2-D matmuls whose weights (and biases) are constants."""
    found: list[Product] = []
    for op in main_function(module).walk():
        if isinstance(op, graph.ConvOp) and graph.element_type_of(op.result) == f32:
            if constant_value(op.weight, params) is not None:
                if constant_value(op.bias, params) is not None:
                    found.append(Product(op, None))
        elif isinstance(op, graph.MatmulOp) and graph.element_type_of(op.result) == f32:
            if op.alpha is not None or op.transpose_a is not None:
                continue
            if len(graph.tensor_shape(op.rhs)) == 2 and constant_value(op.rhs, params) is not None:
                found.append(Product(op, _matmul_bias(op, params)))
    return found


def is_head(product: Product) -> bool:
    """The product gives a model output, directly or through a softmax (the classifier)."""
    value = product.output
    while True:
        users = [use.operation for use in value.uses]
        if any(isinstance(user, func.ReturnOp) for user in users):
            return True
        if len(users) != 1 or not isinstance(users[0], graph.SoftmaxOp):
            return False
        value = users[0].results[0]


def default_skip(product: Product) -> bool:
    """The RGB stem (at most 4 input channels), depthwise convolutions and the classifier
    head stay float."""
    if is_head(product):
        return True
    if not isinstance(product.op, graph.ConvOp):
        return False
    channels = graph.tensor_shape(product.op.input)[1]
    groups = product.op.groups.value.data
    return channels <= 4 or (groups > 1 and groups == channels)


def chosen(found: list[Product], skip: Iterable[str], skip_default: bool) -> list[Product]:
    skip = set(skip)
    known = set().union(*(p.names() for p in found)) if found else set()
    unknown = sorted(skip - known)
    if unknown:
        raise CompileError(
            f"skip names no convolution or matmul: {', '.join(unknown)} (known: "
            f"{', '.join(sorted(known)) or 'none'})"
        )
    return [p for p in found if not (p.names() & skip) and not (skip_default and default_skip(p))]


def _observed_value(product: Product) -> SSAValue:
    """The value whose range sets the output's quantization: a lone relu's result when one
    follows (the requantization then clamps at zero), else the output itself."""
    output = product.output
    if output.has_one_use():
        user = next(iter(output.uses)).operation
        if isinstance(user, graph.ReluOp):
            return user.result
    return output


def check_samples(module: ModuleOp, samples: Sequence[Mapping[str, np.ndarray]]) -> None:
    """Every sample names each input of the model with an array of its shape."""
    if not samples:
        raise CompileError("int8 quantization needs calibration samples; none were given")
    function = main_function(module)
    names = input_names(function)
    for n, sample in enumerate(samples):
        for name, arg in zip(names, function.body.block.args, strict=True):
            if name not in sample:
                raise CompileError(f"calibration sample {n} has no input {name!r}")
            shape = tuple(np.shape(sample[name]))
            if shape != graph.tensor_shape(arg):
                raise CompileError(
                    f"calibration sample {n}: input {name!r} has shape {list(shape)}, the "
                    f"model takes {list(graph.tensor_shape(arg))}"
                )


def observe(
    module: ModuleOp,
    params: dict,
    values: list[SSAValue],
    samples: Sequence[Mapping[str, np.ndarray]],
    method: str,
) -> list[calibration.Observed]:
    """Runs a build of `module` with `values` as extra outputs over the samples: their min
    and max, then for a histogram method a second pass for the histograms."""
    from ziggurat.builder import build
    from ziggurat.runtime import GraphModule

    position = {op: n for n, op in enumerate(module.walk())}
    keys: list[tuple[int | None, int]] = []
    for value in values:
        if isinstance(value, BlockArgument):
            keys.append((None, value.index))
        else:
            assert isinstance(value, OpResult)
            keys.append((position[value.op], value.index))
    probe = module.clone()
    ops = list(probe.walk())
    function = main_function(probe)
    args = function.body.block.args
    extra: list[SSAValue] = [args[i] if at is None else ops[at].results[i] for at, i in keys]
    _add_outputs(function, extra)
    runner = GraphModule(build(probe, params=params, opt_level=3))
    first = runner.get_num_outputs() - len(extra)
    seen = [calibration.Observed() for _ in values]
    passes = ["range"] if method == "minmax" else ["range", "histogram"]
    for stage in passes:
        for sample in samples:
            runner.run(**{k: np.asarray(v, np.float32) for k, v in sample.items()})
            for n, observed in enumerate(seen):
                array = runner.get_output(first + n)
                if stage == "range":
                    observed.see_range(array)
                else:
                    observed.see_histogram(array)
    return seen


def _add_outputs(function: func.FuncOp, values: list[SSAValue]) -> None:
    ret = function.body.block.last_op
    assert isinstance(ret, func.ReturnOp)
    count = len(ret.operands)
    Rewriter.replace_op(ret, func.ReturnOp(*ret.operands, *values))
    kind = function.function_type
    function.function_type = FunctionType.from_lists(
        kind.inputs.data, [*kind.outputs.data, *(v.type for v in values)]
    )
    names = list(function.res_attrs.data) if function.res_attrs else []
    names += [DictionaryAttr({}) for _ in range(count - len(names))]
    names += [
        DictionaryAttr({graph.NAME_ATTR: StringAttr(f"calibration.{n}")})
        for n in range(len(values))
    ]
    function.res_attrs = ArrayAttr(names)


def _insert_after(value: SSAValue, ops: list[Operation]) -> None:
    owner = value.owner
    if isinstance(owner, Block):
        first = owner.first_op
        assert first is not None
        Rewriter.insert_op(ops, InsertPoint.before(first))
    else:
        Rewriter.insert_op(ops, InsertPoint.after(owner))


def _scalar(value: float | int, element: Attribute) -> graph.ConstantOp:
    return graph.ConstantOp(graph.dense_tensor(element, (), [value]))


def quantize_value(value: SSAValue, scale: np.float32, zero: np.uint8) -> None:
    """value -> Q -> DQ, every former user of value reading the DQ."""
    users = [use for use in value.uses]
    s, z = _scalar(float(scale), f32), _scalar(int(zero), ui8)
    q = graph.QuantizeOp(value, s.result, z.result, ui8)
    dq = graph.DequantizeOp(q.result, s.result, z.result, f32)
    _insert_after(value, [s, z, q, dq])
    for use in users:
        use.operation.operands[use.index] = dq.result


def _dequantized_constant(
    anchor: Operation,
    array: np.ndarray,
    scale: np.ndarray,
    zero: Attribute,
    params: dict,
    stem: str,
) -> SSAValue:
    data = make_constant(array, params, stem)
    s = make_constant(scale.astype(np.float32), params, f"{stem}_scale")
    z = _scalar(0, zero)
    dq = graph.DequantizeOp(data.results[0], s.results[0], z.result, f32)
    Rewriter.insert_op([data, s, z, dq], InsertPoint.before(anchor))
    return dq.result


def quantize_product(
    product: Product, input_scale: np.float32, params: dict, per_channel: bool
) -> None:
    """The product's weight as int8 (symmetric; per output channel when asked) and its bias
    as int32 at input_scale * weight_scale, each behind a graph.dequantize."""
    op = product.op
    weight = constant_value(product.weight, params)
    assert weight is not None
    bias_op: Operation | None
    if isinstance(op, graph.ConvOp):
        axis, bias_op, bias_index = 0, op, 2
    else:
        axis = 0 if op.transpose_b is not None else 1
        bias_op, bias_index = product.bias_add, 0
        if bias_op is not None and bias_op.lhs is op.result:
            bias_index = 1
    quantized, scale = calibration.weight_parameters(weight, axis if per_channel else None)
    op.operands[1] = _dequantized_constant(op, quantized, scale, i8, params, "quantized_weight")
    if bias_op is None:
        return
    bias_value = constant_value(bias_op.operands[bias_index], params)
    assert bias_value is not None
    shape = bias_value.shape
    columns = graph.tensor_shape(op.results[0])[1 if isinstance(op, graph.ConvOp) else -1]
    bias_scale = np.broadcast_to(
        (np.float32(input_scale) * scale.reshape(-1)).astype(np.float32), (columns,)
    )
    bias = calibration.bias_values(bias_value.reshape(-1), bias_scale)
    bias_op.operands[bias_index] = _dequantized_constant(
        bias_op, bias.reshape(shape), bias_scale.reshape(shape), i32, params, "quantized_bias"
    )


def quantize_int8(
    module: ModuleOp,
    params: dict,
    samples: Sequence[Mapping[str, np.ndarray]],
    per_channel: bool,
    method: str,
    skip: Iterable[str],
    skip_default: bool,
) -> None:
    """Calibrates `module` on `samples` and inserts the QDQ form of its chosen products."""
    check_samples(module, samples)
    targets = chosen(products(module, params), skip, skip_default)
    sources: dict[SSAValue, SSAValue] = {}
    for product in targets:
        sources.setdefault(product.data, product.data)
        sources.setdefault(product.output, _observed_value(product))
        relu = _observed_value(product)
        if relu is not product.output:
            sources.setdefault(relu, relu)
    observed_values = list(dict.fromkeys(sources.values()))
    seen = observe(module, params, observed_values, samples, method)
    ranges = {
        v: calibration.calibrated_range(o, method)
        for v, o in zip(observed_values, seen, strict=True)
    }
    chosen_parameters = {
        value: calibration.activation_parameters(*ranges[source])
        for value, source in sources.items()
    }
    for product in targets:
        quantize_product(product, chosen_parameters[product.data][0], params, per_channel)
    for value, (scale, zero) in chosen_parameters.items():
        quantize_value(value, scale, zero)


def quantize(
    mod: ModuleOp,
    params: Mapping[str, np.ndarray] | None = None,
    calibration: Sequence[Mapping[str, np.ndarray]] = (),
    scheme: str = "int8",
    per_channel: bool = True,
    method: str = "minmax",
    skip: Iterable[str] = (),
    skip_default: bool = True,
) -> tuple[ModuleOp, dict[str, np.ndarray]]:
    """The quantized module and its params (see the module docstring); `mod` and `params`
    are left as they are."""
    if isinstance(mod, DynamicModel):
        raise CompileError("quantize needs a model with static input shapes")
    if scheme not in SCHEMES:
        raise CompileError(f"unknown quantization scheme {scheme!r} (known: int8, bf16)")
    if method not in calibration_methods():
        raise CompileError(
            f"unknown calibration method {method!r} (known: {', '.join(calibration_methods())})"
        )
    module, store = prepared(mod, params or {})
    if scheme == "int8":
        quantize_int8(module, store, calibration, per_channel, method, skip, skip_default)
    else:
        from ziggurat.bf16_products import bf16_products

        targets = chosen(products(module, store), skip, skip_default=False)
        bf16_products(targets, store)
    module.verify()
    return module, store


def calibration_methods() -> tuple[str, ...]:
    return calibration.METHODS
