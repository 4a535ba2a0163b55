"""`from_onnx`: an ONNX model to a graph-dialect module and its params store.

Steps: load the model (onnx's checker is not run: exporters' harmless deviations, such as
outputs without shapes, are common, and real faults get located errors here); fix input shapes (the model's, overridden by `shape=`);
list every op without a converter and fail once if any; convert node by node in graph order
with the converter for the model's opset; return the graph outputs. Output shapes declared in
the model are not trusted: every type comes from the graph ops' own shape rules.
"""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper
from xdsl.builder import ImplicitBuilder
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    ArrayAttr,
    DictionaryAttr,
    ModuleOp,
    StringAttr,
)
from xdsl.ir import Attribute, Block, Region
from xdsl.utils.exceptions import VerifyException

from ziggurat.core.errors import ModelImportError, UnsupportedOpError
from ziggurat.dialects import graph
from ziggurat.frontend.onnx import (  # noqa: F401  (registers converters)
    control,
    conv,
    elementwise,
    nn,
    qoperator,
    quantize,
    recurrent,
    resize,
    shape_ops,
)
from ziggurat.frontend.onnx.context import ImportContext, node_label, ssa_name
from ziggurat.frontend.onnx.dynamic import DynamicModel, shape_deciding_inputs
from ziggurat.frontend.onnx.folding import can_fold, fold, fold_size_problem
from ziggurat.frontend.onnx.registry import (
    CONVERTERS,
    DEFAULT_DOMAINS,
    converter_key,
    node_attributes,
)
from ziggurat.runtime.execution import CHECK_PREFIX, ROWS_PREFIX
from ziggurat.runtime.variant_inputs import InputSpec


def _load(model: onnx.ModelProto | str | Path) -> onnx.ModelProto:
    if isinstance(model, onnx.ModelProto):
        return model
    path = Path(model)
    try:
        return onnx.load(str(path))
    except FileNotFoundError as err:
        raise ModelImportError(f"{path}: no such file") from err
    except Exception as err:  # onnx raises DecodeError, ValueError... for non-ONNX bytes
        raise ModelImportError(
            f"{path}: not a readable ONNX model ({type(err).__name__}: {err})"
        ) from err


def _undecodable_text(message: Any) -> str | None:
    """The name of the first text field in `message` (depth first) whose bytes are not
    UTF-8, or None. Protobuf hands such a field back as bytes instead of failing the parse,
    and every name in the model is read as text."""
    for field, value in message.ListFields():
        values = value if field.is_repeated else [value]
        raw = [v for v in values if isinstance(v, bytes)] if field.type == field.TYPE_STRING else []
        if raw:
            return f"{field.full_name} ({raw[0]!r})"
        if field.type == field.TYPE_MESSAGE:
            for item in values:
                found = _undecodable_text(item)
                if found is not None:
                    return found
    return None


def _opset(model: onnx.ModelProto) -> int:
    for entry in model.opset_import:
        if entry.domain in DEFAULT_DOMAINS:
            return entry.version
    raise ModelImportError("the model imports no default-domain opset")


def _input_shape(
    value_info: onnx.ValueInfoProto, override: Sequence[int] | None
) -> tuple[int, ...]:
    name = value_info.name
    tensor_type = value_info.type.tensor_type
    declared = list(tensor_type.shape.dim) if tensor_type.HasField("shape") else None
    if override is not None:
        override = tuple(int(d) for d in override)
        if any(d < 0 for d in override):
            raise ModelImportError(
                f"shape= for input {name!r} must be non-negative, got {list(override)}"
            )
        if declared is not None:
            if len(declared) != len(override):
                raise ModelImportError(
                    f"shape= gives input {name!r} rank {len(override)}, but the model declares "
                    f"rank {len(declared)}"
                )
            for axis, (dim, given) in enumerate(zip(declared, override, strict=True)):
                if dim.HasField("dim_value") and dim.dim_value > 0 and dim.dim_value != given:
                    raise ModelImportError(
                        f"shape= gives input {name!r} dim {axis} = {given}, but the model fixes "
                        f"it to {dim.dim_value}"
                    )
        return override
    if declared is None:
        raise ModelImportError(
            f"input {name!r} has no shape in the model; pass shape={{{name!r}: (...)}}"
        )
    dims: list[int] = []
    for axis, dim in enumerate(declared):
        if not dim.HasField("dim_value") or dim.dim_value <= 0:
            symbol = dim.dim_param or "?"
            raise ModelImportError(
                f"input {name!r} dim {axis} is symbolic ({symbol!r}); fix it with "
                f"shape={{{name!r}: (...)}}"
            )
        dims.append(dim.dim_value)
    return tuple(dims)


SHAPE_OPS = ("Shape", "Size")
"""Ops whose outputs depend only on their input's shape, which is static: always constants."""


def _input_element_type(value_info: onnx.ValueInfoProto) -> Attribute:
    kind = value_info.type.WhichOneof("value")
    if kind not in (None, "tensor_type"):
        raise UnsupportedOpError(
            {f"{kind} input": [value_info.name]},
            f"input {value_info.name!r} is not a tensor ({kind}); only tensors are supported",
        )
    elem_type = value_info.type.tensor_type.elem_type
    try:
        dtype = onnx.helper.tensor_dtype_to_np_dtype(elem_type)
    except (KeyError, ValueError):
        element, shown = None, _data_type_name(elem_type)
    else:
        element, shown = graph.element_type_for(dtype), str(dtype)
    if element is None:
        raise ModelImportError(
            f"input {value_info.name!r} is {shown}, which Ziggurat does not support"
        )
    return element


def _data_type_name(data_type: int) -> str:
    """FLOAT, INT64...; for a number ONNX does not define, the number."""
    names = onnx.TensorProto.DataType
    return names.Name(data_type) if data_type in names.values() else f"element type {data_type}"


def _initializer_value(tensor: onnx.TensorProto) -> np.ndarray:
    """The initializer's array; one whose data does not match its dims or element type (a
    damaged or hand-edited file) is refused by name."""
    try:
        return numpy_helper.to_array(tensor)
    except (ValueError, TypeError, KeyError) as err:
        dtype = _data_type_name(tensor.data_type)
        raise ModelImportError(
            f"initializer {tensor.name!r} ({dtype}, dims {list(tensor.dims)}) cannot be read: {err}"
        ) from err


def _check_attributes(ctx: ImportContext, node: onnx.NodeProto) -> None:
    """Refuses a node with an attribute its ONNX schema does not declare (as onnxruntime
    does), without one the schema requires, or with one of another kind (int, ints, float,
    string, tensor...) than declared, so converters and folding only see the values they
    read: `axis=[1, 2]` is this error, not a TypeError deep in a converter."""
    try:
        schema = onnx.defs.get_schema(
            node.op_type, ctx.opset, "" if node.domain == "ai.onnx" else node.domain
        )
    except onnx.defs.SchemaError:
        return
    kind = onnx.AttributeProto.AttributeType
    given = {attr.name: attr.type for attr in node.attribute}
    unknown = sorted(set(given) - set(schema.attributes))
    if unknown:
        raise ctx.error(
            f"has attribute(s) {unknown}, which {node.op_type} does not take in opset "
            f"{ctx.opset} (it takes {sorted(schema.attributes)})"
        )
    for name, declared in schema.attributes.items():
        if declared.required and name not in given:
            raise ctx.error(f"lacks the attribute {name!r}, which {node.op_type} requires")
        if name in given and given[name] != declared.type:
            shown = kind.Name(given[name]) if given[name] in kind.values() else str(given[name])
            raise ctx.error(
                f"attribute {name!r} is {shown}, but {node.op_type} takes {kind.Name(declared.type)}"
            )


def _check_supported(nodes: Sequence[onnx.NodeProto], opset: int, constant_names: set[str]) -> None:
    """Lists every op that will neither fold to a constant nor has a converter, at once."""
    known = set(constant_names)
    missing: dict[str, list[str]] = {}
    for index, node in enumerate(nodes):
        inputs_known = [name in known for name in node.input if name]
        if node.op_type == "Constant" or node.op_type in SHAPE_OPS or can_fold(node, inputs_known):
            known.update(name for name in node.output if name)
            continue
        converter = CONVERTERS.get(converter_key(node))
        if converter is None or converter.get_converter(opset) is None:
            missing.setdefault(converter_key(node), []).append(node_label(node, index))
    if missing:
        raise UnsupportedOpError(missing, f"(model opset {opset})")


def _constant_node_value(ctx: ImportContext, node: onnx.NodeProto) -> np.ndarray:
    attrs = node_attributes(node)
    if "value" in attrs:
        return numpy_helper.to_array(attrs["value"])
    for key, dtype in (("value_float", np.float32), ("value_int", np.int64)):
        if key in attrs:
            return np.array(attrs[key], dtype=dtype)
    for key, dtype in (("value_floats", np.float32), ("value_ints", np.int64)):
        if key in attrs:
            return np.array(attrs[key], dtype=dtype)
    raise ctx.error(f"Constant with attributes {sorted(attrs)} is not supported")


def _declared_dims(
    value_info: onnx.ValueInfoProto, override: Sequence[int] | None
) -> tuple[int | str, ...] | None:
    """The input's dims, a symbol's name (or "?") for each one without a fixed size; None
    when they are all fixed (by the model or by `override`) or the model gives no shape."""
    tensor_type = value_info.type.tensor_type
    if override is not None or not tensor_type.HasField("shape"):
        return None
    dims = tuple(
        int(dim.dim_value)
        if dim.HasField("dim_value") and dim.dim_value > 0
        else dim.dim_param or "?"
        for dim in tensor_type.shape.dim
    )
    return dims if any(isinstance(d, str) for d in dims) else None


def _dynamic_model(
    proto: onnx.ModelProto,
    opset: int,
    inputs: Sequence[onnx.ValueInfoProto],
    overrides: Mapping[str, Sequence[int]],
    initializer_names: set[str],
) -> DynamicModel | None:
    """The model as a DynamicModel when an input dim is symbolic (and `shape=` does not fix
    it) or an input decides a shape; None for a static model. Ops that no variant could
    compile are refused now, once."""
    shape_inputs = shape_deciding_inputs(proto.graph.node, [v.name for v in inputs])
    symbolic = {v.name: _declared_dims(v, overrides.get(v.name)) for v in inputs}
    if not shape_inputs and not any(symbolic.values()):
        return None
    _check_supported(proto.graph.node, opset, initializer_names | set(shape_inputs))
    specs = []
    for value_info in inputs:
        dims = symbolic[value_info.name] or _input_shape(value_info, overrides.get(value_info.name))
        dtype = onnx.helper.tensor_dtype_to_np_dtype(value_info.type.tensor_type.elem_type)
        specs.append(InputSpec(value_info.name, np.dtype(dtype), tuple(dims)))
    return DynamicModel(proto, specs, shape_inputs)


def from_onnx(
    model: onnx.ModelProto | str | Path,
    shape: Mapping[str, Sequence[int]] | None = None,
) -> tuple[ModuleOp | DynamicModel, dict[str, np.ndarray]]:
    """Imports an ONNX model as `func.func @main` in the graph dialect, plus its weights.

    A model that cannot be compiled once for all runs (an input dim left symbolic, or an
    input whose value decides a shape) comes back as a `DynamicModel` with no params:
    `ziggurat.build` makes it a module that compiles a variant per distinct input shapes
    and shape-deciding values (backend/variants.py)."""
    proto = _load(model)
    undecodable = _undecodable_text(proto)
    if undecodable is not None:
        raise ModelImportError(f"the model's {undecodable} is not UTF-8 text")
    opset = _opset(proto)
    overrides = dict(shape or {})
    initializer_names = {t.name for t in proto.graph.initializer}
    inputs = [v for v in proto.graph.input if v.name not in initializer_names]
    unknown = set(overrides) - {v.name for v in inputs}
    if unknown:
        input_names = ", ".join(repr(v.name) for v in inputs)
        raise ModelImportError(
            f"shape= names unknown input(s) {sorted(unknown)}; the inputs are {input_names}"
        )
    elements = [_input_element_type(v) for v in inputs]
    dynamic = _dynamic_model(proto, opset, inputs, overrides, initializer_names)
    if dynamic is not None:
        return dynamic, {}
    input_types = [
        graph.tensor_of(_input_shape(v, overrides.get(v.name)), element)
        for v, element in zip(inputs, elements, strict=True)
    ]
    _check_supported(proto.graph.node, opset, initializer_names)

    block = Block(arg_types=input_types)
    ctx = ImportContext(block, opset)
    for index, node in enumerate(proto.graph.node):
        for name in node.output:
            ctx.producers.setdefault(name, node_label(node, index))
    for value_info, arg in zip(inputs, block.args, strict=True):
        ctx.values[value_info.name] = arg
        arg.name_hint = ssa_name(value_info.name)
    for tensor in proto.graph.initializer:
        ctx.constants[tensor.name] = _initializer_value(tensor)
    with ImplicitBuilder(block):
        for index, node in enumerate(proto.graph.node):
            ctx.node_label = f"{node_label(node, index)!r} ({node.op_type})"
            ctx.node_name, ctx.node_op = node_label(node, index), node.op_type
            _check_attributes(ctx, node)
            _convert_node(ctx, node)
        outputs = [ctx.value(o.name) for o in proto.graph.output]
        counted = [
            (o.name, ctx.row_counts[v])
            for o, v in zip(proto.graph.output, outputs, strict=True)
            if v in ctx.row_counts
        ]
        outputs += [value for value, _ in ctx.checks]
        outputs += [count for _, count in counted]
        func.ReturnOp(*outputs)
    output_names = [o.name for o in proto.graph.output]
    output_names += [f"{CHECK_PREFIX}{message}" for _, message in ctx.checks]
    output_names += [f"{ROWS_PREFIX}{name}" for name, _ in counted]

    def names(values: Sequence[str]) -> ArrayAttr[DictionaryAttr]:
        return ArrayAttr([DictionaryAttr({graph.NAME_ATTR: StringAttr(v)}) for v in values])

    main = func.FuncOp(
        "main",
        (input_types, [v.type for v in outputs]),
        Region(block),
        arg_attrs=names([v.name for v in inputs]),
        res_attrs=names(output_names),
    )
    module = ModuleOp([main])
    try:
        module.verify()
    except VerifyException as err:
        raise ModelImportError(f"the imported graph does not verify: {err}") from err
    return module, ctx.params


def _shape_op(ctx: ImportContext, node: onnx.NodeProto) -> np.ndarray:
    if not node.input or not node.input[0]:
        raise ctx.error("required input 0 is missing")
    shape = ctx.shape(node.input[0])
    if node.op_type == "Size":
        return np.array(int(np.prod(shape, dtype=np.int64)), dtype=np.int64)
    attrs = node_attributes(node)
    start, end = attrs.get("start", 0), attrs.get("end", None)
    return np.array(shape[start:end], dtype=np.int64)


def _convert_node(ctx: ImportContext, node: onnx.NodeProto) -> None:
    if node.op_type == "Constant":
        ctx.constants[node.output[0]] = _constant_node_value(ctx, node)
        return
    if node.op_type in SHAPE_OPS:
        ctx.constants[node.output[0]] = _shape_op(ctx, node)
        return
    inputs = [ctx.constant(name) if name else None for name in node.input]
    if can_fold(
        node, [value is not None for name, value in zip(node.input, inputs, strict=True) if name]
    ):
        too_big = fold_size_problem(node, inputs)
        if too_big is not None:
            raise ctx.error(too_big)
        try:
            folded = fold(node, inputs, ctx.opset)
        except Exception as err:  # onnx's reference raises many types for bad nodes
            raise ctx.error(f"cannot evaluate on constants: {type(err).__name__}: {err}") from err
        for name, array in zip(node.output, folded, strict=False):
            if name:
                ctx.constants[name] = array
        return
    impl = CONVERTERS[converter_key(node)].get_converter(ctx.opset)
    assert impl is not None
    try:
        results = impl(ctx, node, node_attributes(node))
    except (ValueError, VerifyException) as err:
        raise ctx.error(str(err)) from err
    missing = [
        name
        for n, name in enumerate(node.output)
        if name and n >= len(results) and name not in ctx.constants
    ]
    if missing:
        raise ctx.error(f"produced no value for output(s) {missing}")
    for name, value in zip(node.output, results, strict=False):
        if name:
            ctx.values[name] = value
            if value.name_hint is None:
                value.name_hint = ssa_name(name)
