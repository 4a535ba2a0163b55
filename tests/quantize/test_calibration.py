"""The calibration maths of ziggurat.quantize against onnxruntime.quantization's own
functions on the same data: scales and zero points (compute_scale_zp), the value histogram,
percentile and entropy (KL divergence) ranges (HistogramCollector)."""

import numpy as np
import pytest

from ziggurat import calibration

quant_utils = pytest.importorskip("onnxruntime.quantization.quant_utils")
calibrate = pytest.importorskip("onnxruntime.quantization.calibrate")


def _ort_scale_zp(low: float, high: float, qmin: int, qmax: int, dtype, symmetric: bool):
    zero, scale = quant_utils.compute_scale_zp(
        np.array(low, np.float32),
        np.array(high, np.float32),
        np.array(qmin, dtype),
        np.array(qmax, dtype),
        symmetric=symmetric,
    )
    return np.float32(scale), int(zero)


@pytest.mark.parametrize(
    "low, high", [(-1.5, 3.25), (0.5, 7.0), (-4.0, -0.25), (0.0, 0.0), (-1e-3, 1e-40), (-6, 6)]
)
def test_activation_parameters_equal_onnxruntime(low: float, high: float) -> None:
    scale, zero = calibration.activation_parameters(low, high)
    assert (scale, int(zero)) == _ort_scale_zp(low, high, 0, 255, np.uint8, symmetric=False)


def test_weight_parameters_per_channel_equal_onnxruntime() -> None:
    rng = np.random.default_rng(0)
    weight = (rng.standard_normal((6, 3, 3, 3)) * np.arange(1, 7).reshape(6, 1, 1, 1)).astype(
        np.float32
    )
    weight[5] = 0.0
    quantized, scale = calibration.weight_parameters(weight, axis=0)
    assert scale.shape == (6, 1, 1, 1) and quantized.dtype == np.int8
    for channel in range(6):
        want_scale, want_zero = _ort_scale_zp(
            weight[channel].min(), weight[channel].max(), -127, 127, np.int8, symmetric=True
        )
        assert scale[channel].item() == want_scale and want_zero == 0
        want = quant_utils.quantize_nparray(
            quant_utils.onnx_proto.TensorProto.INT8,
            weight[channel],
            np.array(want_scale, np.float32),
            np.array(0, np.int8),
            low=-127,
            high=127,
        )
        np.testing.assert_array_equal(quantized[channel], want)


def test_bias_rounds_half_to_even_at_the_product_scale() -> None:
    scale = np.array([0.5, 0.25, 2.0], np.float32)
    bias = np.array([1.25, -0.375, 5.0], np.float32)
    np.testing.assert_array_equal(calibration.bias_values(bias, scale), [2, -2, 2])


def _ort_histogram(batches: list[np.ndarray], method: str, bins: int):
    collector = calibrate.HistogramCollector(
        method=method,
        symmetric=False,
        num_bins=bins,
        num_quantized_bins=calibration.QUANTIZED_BINS,
        percentile=calibration.PERCENTILE,
        scenario="same",
    )
    for batch in batches:
        collector.collect_value({"t": batch})
    return collector


def _observed(batches: list[np.ndarray]) -> calibration.Observed:
    observed = calibration.Observed()
    for batch in batches:
        observed.see_range(batch)
    for batch in batches:
        observed.see_histogram(batch)
    return observed


def test_histogram_and_percentile_equal_onnxruntime() -> None:
    """One batch, so onnxruntime bins once on [-t, t], as the two-pass histogram does."""
    rng = np.random.default_rng(1)
    data = np.concatenate([rng.standard_normal(20000), rng.standard_normal(20) * 40 + 5])
    data = data.astype(np.float32)
    observed = _observed([data])
    collector = _ort_histogram([data], "percentile", calibration.HISTOGRAM_BINS)
    hist, edges, low, high, _ = collector.histogram_dict["t"]
    np.testing.assert_array_equal(observed.counts, hist)
    np.testing.assert_allclose(observed.edges(), edges, rtol=1e-6, atol=1e-6)
    want = collector.compute_percentile()["t"][:2]
    got = calibration.calibrated_range(observed, "percentile")
    np.testing.assert_allclose(got, [float(w) for w in want], rtol=1e-5)
    assert low <= got[0] < -3 and 3 < got[1] < high  # the outliers are cut off


def test_entropy_equals_onnxruntime_on_a_known_histogram() -> None:
    rng = np.random.default_rng(2)
    data = np.concatenate([rng.laplace(0, 1, 50000), rng.uniform(-30, 30, 50)]).astype(np.float32)
    collector = _ort_histogram([data], "entropy", 512)
    histogram = collector.histogram_dict["t"]
    want = collector.get_entropy_threshold(histogram, calibration.QUANTIZED_BINS)
    got = calibration.entropy_range(histogram[0], histogram[1], histogram[2], histogram[3])
    np.testing.assert_allclose(got, [float(w) for w in want], rtol=1e-6)
    assert -30 < got[0] and got[1] < 30  # the sparse tails are clipped


def test_minmax_and_empty_ranges() -> None:
    observed = _observed([np.array([-2.0, 1.0], np.float32), np.array([3.0, np.nan], np.float32)])
    assert calibration.calibrated_range(observed, "minmax") == (-2.0, 3.0)
    assert calibration.calibrated_range(calibration.Observed(), "entropy") == (0.0, 0.0)
    constant = _observed([np.zeros(8, np.float32)])
    assert calibration.calibrated_range(constant, "percentile") == (0.0, 0.0)
