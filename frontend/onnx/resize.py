"""ONNX Resize as linear algebra: resizing is separable, each resized axis an affine map
y = x @ W + c along that axis (c holds tf_crop_and_resize's extrapolation value). W and c
are computed at import time by running onnx's reference 1-D interpolation on the identity
and on zeros, so every mode, coordinate transform, nearest rounding, cubic coefficient,
exclude_outside and antialias behaves exactly as the reference; the graph then applies them
as transposes and matmuls.

The interpolation helpers are private functions of onnx's reference implementation, used as
they are in the pinned onnx release.
"""

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import onnx
from onnx.reference.ops import op_resize
from xdsl.ir import SSAValue

from ziggurat.dialects import graph
from ziggurat.frontend.onnx.context import ImportContext, required
from ziggurat.frontend.onnx.registry import OnnxOpConverter, register
from ziggurat.runtime.limits import limit_text, memory_limit, size_text


def _text(value: Any, default: str) -> str:
    if value is None:
        return default
    return value.decode() if isinstance(value, bytes) else str(value)


def coefficient_function(attrs: dict[str, Any]) -> Callable[[float, float], np.ndarray]:
    """The reference's interpolation-weight function for the node's mode."""
    mode = _text(attrs.get("mode"), "nearest")
    antialias = bool(attrs.get("antialias", 0))
    if mode == "nearest":
        nearest_mode = _text(attrs.get("nearest_mode"), "round_prefer_floor")
        return lambda ratio, scale: op_resize._nearest_coeffs(ratio, mode=nearest_mode)
    if mode == "linear":
        return op_resize._linear_coeffs_antialias if antialias else op_resize._linear_coeffs
    if mode == "cubic":
        a = float(attrs.get("cubic_coeff_a", -0.75))
        cubic = op_resize._cubic_coeffs_antialias if antialias else op_resize._cubic_coeffs
        return lambda ratio, scale: cubic(ratio, scale, A=a)
    raise ValueError(f"Resize mode {mode!r} is not supported")


def output_geometry(
    shape: Sequence[int],
    scales: Sequence[float] | None,
    sizes: Sequence[int] | None,
    axes: Sequence[int] | None,
    policy: str,
) -> tuple[list[float], list[int]]:
    """Per-dim scale factors and output sizes, as the Resize spec derives them."""
    rank = len(shape)
    axes = list(axes) if axes is not None else list(range(rank))
    if sizes is not None:
        size_of = {a: s for a, s in zip(axes, sizes, strict=True)}
        factors = [size_of.get(d, shape[d]) / shape[d] for d in range(rank)]
        out = [size_of.get(d, shape[d]) for d in range(rank)]
        if policy != "stretch":
            pick = min if policy == "not_larger" else max
            scale = pick(factors[a] for a in axes)
            factors = [scale if d in axes else 1.0 for d in range(rank)]
            out = [int(scale * shape[d] + 0.5) if d in axes else shape[d] for d in range(rank)]
        return factors, out
    assert scales is not None
    scale_of = {a: s for a, s in zip(axes, scales, strict=True)}
    factors = [float(scale_of.get(d, 1.0)) for d in range(rank)]
    return factors, [int(f * s) for f, s in zip(factors, shape, strict=True)]


def axis_map(
    size: int,
    factor: float,
    out: int,
    coeffs: Callable[[float, float], np.ndarray],
    roi: list[float] | None,
    attrs: dict[str, Any],
) -> tuple[np.ndarray, np.ndarray]:
    """(W, c) with resized = x @ W + c along one axis of `size` elements.

    align_corners maps x to x * (size - 1) / (out - 1) with `out` the whole output length, as
    the spec's formula and onnxruntime have it; onnx's reference divides by size * scale - 1
    instead, which differs when size * scale is not whole (7 rows at scale 1.5 make 10, not
    10.5), so it is handed the scale that makes exactly `out`."""
    extrapolation_value = float(attrs.get("extrapolation_value", 0.0))
    mode = _text(attrs.get("coordinate_transformation_mode"), "half_pixel")
    if mode == "align_corners":
        factor = out / size
    exclude_outside = bool(attrs.get("exclude_outside", 0))

    def interpolate(data: np.ndarray) -> np.ndarray:
        return op_resize._interpolate_1d_along_axis(
            data,
            1,
            factor,
            out,
            coeffs,
            roi=roi,
            extrapolation_value=extrapolation_value,
            coordinate_transformation_mode=mode,
            exclude_outside=exclude_outside,
        )

    basis = interpolate(np.eye(size))
    offset = interpolate(np.zeros((1, size)))[0]
    return (basis - offset).astype(np.float32), offset.astype(np.float32)


def _along_axis(x: SSAValue, axis: int, weights: SSAValue, offset: SSAValue | None) -> SSAValue:
    rank = len(graph.tensor_shape(x))
    perm = [d for d in range(rank) if d != axis] + [axis]
    moved = x if axis == rank - 1 else graph.TransposeOp(x, perm).result
    y = graph.MatmulOp(moved, weights).result if rank >= 2 else None
    if y is None:
        two_d = graph.ReshapeOp(moved, (1, graph.tensor_shape(moved)[0])).result
        y = graph.ReshapeOp(
            graph.MatmulOp(two_d, weights).result, (graph.tensor_shape(weights)[1],)
        ).result
    if offset is not None:
        y = graph.AddOp(y, offset).result
    if axis == rank - 1:
        return y
    inverse = [perm.index(d) for d in range(rank)]
    return graph.TransposeOp(y, inverse).result


@register("Resize")
class Resize(OnnxOpConverter):
    @classmethod
    def _impl_v11(
        cls, ctx: ImportContext, node: onnx.NodeProto, attrs: dict[str, Any]
    ) -> list[SSAValue]:
        x = required(ctx, node, 0)
        shape = graph.tensor_shape(x)
        roi, scales, sizes = (ctx.constant_input(node, i) for i in (1, 2, 3))
        for index, value, what in ((1, roi, "roi"), (2, scales, "scales"), (3, sizes, "sizes")):
            if value is None and ctx.input(node, index) is not None:
                raise ctx.unsupported(f"its {what} are computed at run time")
        if scales is not None and np.asarray(scales).size == 0:
            scales = None
        if sizes is not None and np.asarray(sizes).size == 0:
            sizes = None
        if scales is None and sizes is None:
            raise ctx.error("Resize needs scales or sizes")
        axes = [int(a) % len(shape) for a in attrs["axes"]] if "axes" in attrs else None
        policy = _text(attrs.get("keep_aspect_ratio_policy"), "stretch")
        factors, out = output_geometry(
            shape,
            None if scales is None else [float(s) for s in np.asarray(scales).reshape(-1)],
            None if sizes is None else [int(s) for s in np.asarray(sizes).reshape(-1)],
            axes,
            policy,
        )
        _check_output(ctx, shape, out)
        full_roi = _full_roi(roi, axes, len(shape))
        try:
            coeffs = coefficient_function(attrs)
        except ValueError as err:
            raise ctx.unsupported(str(err)) from err
        y = x
        for axis in range(len(shape)):
            axis_roi = None if full_roi is None else [full_roi[axis], full_roi[axis + len(shape)]]
            identity = (
                np.isclose(factors[axis], 1.0)
                and out[axis] == shape[axis]
                and (
                    axis_roi is None
                    or (np.isclose(axis_roi[0], 0.0) and np.isclose(axis_roi[1], 1.0))
                )
            )
            if identity:
                continue
            weights, offset = axis_map(
                shape[axis], factors[axis], out[axis], coeffs, axis_roi, attrs
            )
            offset_value = ctx.tensor(offset, "resize_offset") if np.any(offset) else None
            y = _along_axis(y, axis, ctx.tensor(weights, "resize_weights"), offset_value)
        return [y]


def _check_output(ctx: ImportContext, shape: Sequence[int], out: Sequence[int]) -> None:
    """Refuses an output with an empty or negative dim, and one whose interpolation matrices
    (float64, input extent x output extent per resized axis) would not fit the memory limit:
    scales of 1e9 are this error, not an allocation of gigabytes."""
    if any(o < 1 for o in out):
        raise ctx.error(f"resizing {list(shape)} gives {list(out)}, which has an empty dim")
    limit = memory_limit()
    needed = sum(8 * s * o for s, o in zip(shape, out, strict=True) if s != o)
    if limit is not None and needed > limit:
        raise ctx.error(
            f"resizing {list(shape)} to {list(out)} needs {size_text(needed)} of interpolation "
            f"weights, over the limit of {limit_text(limit)}"
        )


def _full_roi(roi: np.ndarray | None, axes: list[int] | None, rank: int) -> list[float] | None:
    """The roi over every dim (starts, then ends), from one given for `axes` only."""
    if roi is None or np.asarray(roi).size == 0:
        return None
    values = [float(v) for v in np.asarray(roi).reshape(-1)]
    if axes is None:
        return values
    full = [0.0] * rank + [1.0] * rank
    for n, axis in enumerate(axes):
        full[axis], full[rank + axis] = values[n], values[len(axes) + n]
    return full
