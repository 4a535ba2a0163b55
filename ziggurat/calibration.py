"""Calibration maths for `ziggurat.quantize`: a tensor's observed values to the range its
quantization keeps, and that range to a scale and zero point.

Ranges: "minmax" keeps everything seen; "percentile" and "entropy" read a histogram of the
values on [-t, t] (t the largest magnitude seen, as onnxruntime's HistogramCollector bins
them): percentile cuts (100 - p) / 2 percent off each tail, entropy picks the symmetric
window whose 128-level quantization loses least information (KL divergence, TensorRT's
method). Both are clamped to the observed min and max, as onnxruntime clamps them.

Scales and zero points follow onnxruntime's `quant_utils.compute_scale_zp`: the range is
widened to hold 0, scale = (rmax - rmin) / (qmax - qmin), zero point = round(qmin - rmin /
scale) (symmetric: the middle of [qmin, qmax]); a range too small for a float32 scale gives
scale 1 and zero point 0.
"""

from dataclasses import dataclass, field
from typing import cast

import numpy as np

METHODS = ("minmax", "percentile", "entropy")
HISTOGRAM_BINS = 2048
QUANTIZED_BINS = 128
PERCENTILE = 99.999


@dataclass
class Observed:
    """What calibration saw of one tensor: its min and max, then (second pass) a histogram
    of its values on [-threshold, threshold]."""

    low: float = np.inf
    high: float = -np.inf
    counts: np.ndarray = field(default_factory=lambda: np.zeros(HISTOGRAM_BINS, np.int64))

    @property
    def threshold(self) -> float:
        return float(max(abs(self.low), abs(self.high), 0.0))

    def see_range(self, values: np.ndarray) -> None:
        finite = values[np.isfinite(values)]
        if finite.size:
            self.low = min(self.low, float(finite.min()))
            self.high = max(self.high, float(finite.max()))

    def see_histogram(self, values: np.ndarray) -> None:
        t = np.float32(self.threshold)  # float32 bounds bin as onnxruntime's histograms do
        bounds = cast(tuple[float, float], (-t, t))
        counts, _ = np.histogram(values.astype(np.float32), len(self.counts), range=bounds)
        self.counts += counts

    def edges(self) -> np.ndarray:
        t = np.float32(self.threshold)
        return np.linspace(-t, t, len(self.counts) + 1, dtype=np.float32)


def percentile_range(
    counts: np.ndarray, edges: np.ndarray, low: float, high: float, percentile: float = PERCENTILE
) -> tuple[float, float]:
    """The edges cutting (100 - percentile) / 2 percent of the counts off each side."""
    cdf = np.cumsum(counts / counts.sum())
    cut = (100.0 - percentile) / 200.0
    left = edges[np.searchsorted(cdf, cut)]
    right = edges[np.searchsorted(cdf, 1.0 - cut)]
    return max(float(left), low), min(float(right), high)


def _smoothed(distribution: np.ndarray, eps: float = 0.0001) -> np.ndarray | None:
    """Zeros replaced by eps, the mass taken from the non-zeros (onnxruntime's
    smooth_distribution); None when every bin is zero."""
    zeros = distribution == 0
    nonzeros = distribution.size - int(zeros.sum())
    if nonzeros == 0:
        return None
    taken = eps * float(zeros.sum()) / nonzeros
    return distribution.astype(np.float64) + eps * zeros - taken * ~zeros


def _kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    p, q = p / p.sum(), q / q.sum()
    return float(np.sum(p * np.log(p / q)))


def entropy_range(
    counts: np.ndarray, edges: np.ndarray, low: float, high: float, levels: int = QUANTIZED_BINS
) -> tuple[float, float]:
    """The symmetric window around the histogram's middle whose `levels`-bin quantization is
    nearest the clipped histogram in KL divergence; the same choice as onnxruntime's
    HistogramCollector.get_entropy_threshold (which also truncates q to integers)."""
    bins = counts.size
    middle, half = bins // 2, levels // 2
    best, chosen = np.inf, (float(edges[0]), float(edges[-1]))
    for i in range(half, middle + 1):
        start, end = middle - i, min(middle + i + 1, bins)
        window = counts[start:end]
        p = window.astype(np.int64).copy()
        p[0] += counts[:start].sum()
        p[-1] += counts[end:].sum()
        merged = window.size // levels
        totals = window[: levels * merged].reshape(levels, merged).sum(axis=1)
        totals[-1] += window[levels * merged :].sum()
        occupied = (p != 0).astype(np.int64)
        if merged:
            used = occupied[: levels * merged].reshape(levels, merged).sum(axis=1)
        else:
            used = np.zeros(levels, np.int64)
        spread = np.where(used > 0, totals / np.maximum(used, 1), 0).astype(np.int64)
        q = np.zeros(p.size, np.int64)
        q[: levels * merged] = np.repeat(spread, merged)
        smooth_p, smooth_q = _smoothed(p), _smoothed(q)
        if smooth_p is None or smooth_q is None:
            continue
        divergence = _kl_divergence(smooth_p, smooth_q)
        if divergence < best:
            best, chosen = divergence, (float(edges[start]), float(edges[end]))
    return max(chosen[0], low), min(chosen[1], high)


def calibrated_range(observed: Observed, method: str) -> tuple[float, float]:
    """The range `method` keeps of what calibration saw."""
    if not np.isfinite(observed.low):
        return 0.0, 0.0
    if method == "minmax" or observed.threshold == 0.0:
        return observed.low, observed.high
    edges = observed.edges()
    if method == "percentile":
        return percentile_range(observed.counts, edges, observed.low, observed.high)
    return entropy_range(observed.counts, edges, observed.low, observed.high)


def scale_and_zero_point(
    low: np.ndarray | float, high: np.ndarray | float, qmin: int, qmax: int, symmetric: bool
) -> tuple[np.ndarray, np.ndarray]:
    """onnxruntime's compute_scale_zp, elementwise over float32 ranges: (scale as float32,
    zero point as float64 holding integers)."""
    rmin = np.minimum(np.asarray(low, np.float32), np.float32(0)).astype(np.float32)
    rmax = np.maximum(np.asarray(high, np.float32), np.float32(0)).astype(np.float32)
    if symmetric:
        bound = np.maximum(np.abs(rmin), np.abs(rmax))
        rmin, rmax = -bound, bound
    scale = (rmax.astype(np.float64) - rmin.astype(np.float64)) / float(qmax - qmin)
    tiny = scale < np.finfo(np.float32).tiny
    if symmetric:
        zero = np.full(scale.shape, np.round((qmin + qmax) / 2.0))
    else:
        zero = np.round(qmin - rmin / np.where(tiny, 1.0, scale))
    zero = np.where(tiny, 0.0, zero)
    return np.where(tiny, np.float32(1), scale.astype(np.float32)), zero


def activation_parameters(low: float, high: float) -> tuple[np.float32, np.uint8]:
    """uint8, asymmetric: onnxruntime's QUInt8 activations."""
    scale, zero = scale_and_zero_point(low, high, 0, 255, symmetric=False)
    return np.float32(scale), np.uint8(zero)


def weight_parameters(weight: np.ndarray, axis: int | None) -> tuple[np.ndarray, np.ndarray]:
    """int8 symmetric on [-127, 127] (onnxruntime's QInt8 weights), per slice along `axis`
    (None: per tensor): the int8 weight and its float32 scales, shaped to broadcast."""
    if axis is None:
        low, high = np.array(weight.min()), np.array(weight.max())
        shape: tuple[int, ...] = ()
    else:
        others = tuple(d for d in range(weight.ndim) if d != axis)
        low, high = weight.min(axis=others), weight.max(axis=others)
        shape = tuple(-1 if d == axis else 1 for d in range(weight.ndim))
    scale, _ = scale_and_zero_point(low, high, -127, 127, symmetric=True)
    scale = scale.reshape(shape) if shape else scale.reshape(())
    quantized = np.clip(np.rint(weight.astype(np.float32) / scale), -127, 127).astype(np.int8)
    return quantized, scale.astype(np.float32)


def bias_values(bias: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """The int32 bias at `scale` (input_scale * weight_scale, in float32), zero point 0:
    onnxruntime's round half to even of bias / scale."""
    quotient = bias.astype(np.float32) / scale.astype(np.float32)
    bound = np.float64(np.iinfo(np.int32).max)
    return np.clip(np.rint(quotient.astype(np.float64)), -bound, bound).astype(np.int32)
