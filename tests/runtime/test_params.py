"""Params files: any name survives a save and load, and nothing is pickled."""

from pathlib import Path

import numpy as np

from ziggurat.runtime.params import load_params, save_params


def test_names_with_any_character_round_trip(tmp_path: Path) -> None:
    params = {
        "onnx::Gemm_0": np.arange(6, dtype=np.float32).reshape(2, 3),
        'save_infer_model/scale_0.tmp_1 "quoted" {json}': np.ones(4, np.int64),
        "": np.zeros((), np.float16),
    }
    path = tmp_path / "model.params.npz"
    save_params(path, params)
    loaded = load_params(path)
    assert list(loaded) == list(params)
    for name, value in params.items():
        assert loaded[name].dtype == value.dtype
        np.testing.assert_array_equal(loaded[name], value)


def test_plain_npz_loads_by_key(tmp_path: Path) -> None:
    path = tmp_path / "plain.npz"
    np.savez(path, weight=np.eye(2, dtype=np.float32))
    np.testing.assert_array_equal(load_params(path)["weight"], np.eye(2))
