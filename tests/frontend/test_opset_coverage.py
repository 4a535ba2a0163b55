"""Every converter serves each opset up to the installed onnx's: an op version newer than a
converter's last implementation is used through that implementation, which is right only
where the newer version kept the semantics. This pins the attribute and input changes since
each converter's last implementation, each reviewed: a new onnx that changes a covered op
fails here until the change is handled and listed."""

import onnx
import onnx.defs

from ziggurat.frontend.onnx.importer import CONVERTERS

REVIEWED_CHANGES = {
    ("AveragePool", 7): "count_include_pad: read by the pool converter",
    ("AveragePool", 10): "ceil_mode: read by the pool converter",
    ("AveragePool", 19): "dilations: read by the pool converter",
    ("BatchNormalization", 6): "consumed_inputs dropped (legacy, unread)",
    ("BatchNormalization", 7): "is_test dropped (inference only)",
    ("BatchNormalization", 9): "spatial dropped (per-channel only)",
    ("BatchNormalization", 14): "training_mode: batch statistics and running mean/var outputs",
    ("Cast", 19): "saturate: only for float8 targets, which are refused",
    ("Cast", 24): "round_mode: only for float8 targets, which are refused",
    ("DequantizeLinear", 13): "axis: read (per-axis scales)",
    ("DequantizeLinear", 21): "block_size: read (blocked scales)",
    ("DequantizeLinear", 23): "output_dtype: read",
    ("GRU", 3): "linear_before_reset: read",
    ("GRU", 7): "output_sequence dropped (Y is an optional output: read by name)",
    ("GRU", 14): "layout: read",
    ("LSTM", 7): "output_sequence dropped (Y is an optional output: read by name)",
    ("LSTM", 14): "layout: read",
    ("Dropout", 6): "consumed_inputs dropped (legacy, unread)",
    ("Dropout", 7): "is_test dropped (inference only)",
    ("Dropout", 12): "ratio and training_mode as inputs: read, bound per variant when fed",
    ("MaxPool", 8): "Indices output and its storage_order: graph.max_pool_indices",
    ("MaxPool", 10): "ceil_mode and dilations: read by the pool converter",
    ("Pad", 18): "axes input: read",
    ("QuantizeLinear", 13): "axis: read (per-axis scales)",
    ("QuantizeLinear", 19): "saturate: only for float8 targets, which are refused",
    ("QuantizeLinear", 21): "block_size and output_dtype: read",
    ("QuantizeLinear", 23): "precision: refused unless FLOAT",
    ("RNN", 7): "output_sequence dropped (Y is an optional output: read by name)",
    ("RNN", 14): "layout: read",
    ("ReduceMax", 18): "axes as an input and noop_with_empty_axes: read",
    ("ReduceMean", 18): "axes as an input and noop_with_empty_axes: read",
    ("ReduceMin", 18): "axes as an input and noop_with_empty_axes: read",
    ("ReduceProd", 18): "axes as an input and noop_with_empty_axes: read",
    ("ReduceSum", 13): "axes as an input and noop_with_empty_axes: read",
    ("Reshape", 14): "allowzero: read",
    ("Resize", 18): "antialias, axes, keep_aspect_ratio_policy: read",
    ("Split", 18): "num_outputs: read",
    ("Squeeze", 13): "axes as an input: read",
    ("Unsqueeze", 13): "axes as an input: read",
}


def _interface(schema: onnx.defs.OpSchema) -> tuple[object, ...]:
    return (
        sorted(schema.attributes),
        [i.name for i in schema.inputs],
        [o.name for o in schema.outputs],
    )


def changes_since_last_implementation() -> set[tuple[str, int]]:
    """(op, version) for each schema version after a converter's last implementation whose
    attributes, inputs or outputs differ from the version before it."""
    history: dict[str, list[onnx.defs.OpSchema]] = {}
    for schema in onnx.defs.get_all_schemas_with_history():
        if schema.domain == "" and schema.name in CONVERTERS:
            history.setdefault(schema.name, []).append(schema)
    changed = set()
    for op, converter in CONVERTERS.items():
        if op not in history:
            continue  # an op of another domain (com.microsoft.QLinearAdd): no onnx schema
        implemented = onnx.defs.get_schema(op, max(converter.versions()), "").since_version
        schemas = sorted(history[op], key=lambda s: s.since_version)
        for before, after in zip(schemas, schemas[1:], strict=False):
            if after.since_version > implemented and _interface(before) != _interface(after):
                changed.add((op, after.since_version))
    return changed


def test_newer_op_versions_of_covered_ops_are_reviewed() -> None:
    assert changes_since_last_implementation() == set(REVIEWED_CHANGES)
