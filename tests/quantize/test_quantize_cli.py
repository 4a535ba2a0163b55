"""`--quantize int8|bf16` of `ziggurat compile` and `ziggurat run`, in a subprocess as users
run them, and their one-line errors."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from models import mlp_model

BIN = Path(sys.executable).parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "ziggurat"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("quantize_cli")
    onnx.save(mlp_model(1, sizes=(32, 16, 10)), str(folder / "mlp.onnx"))
    rng = np.random.default_rng(0)
    np.savez(folder / "data.npz", input=rng.standard_normal((8, 1, 32)).astype(np.float32))
    return folder / "mlp.onnx", folder / "data.npz"


def test_compile_int8_then_run_the_package(files: tuple[Path, Path], tmp_path: Path) -> None:
    model, data = files
    package = tmp_path / "mlp_int8.zgt"
    result = run(
        "compile", str(model), "-o", str(package), "--quantize", "int8", "--calibration", str(data)
    )
    assert result.returncode == 0, result.stderr
    result = run("run", str(package), "--repeat", "0")
    assert result.returncode == 0, result.stderr
    assert "output 'probabilities': shape [1, 10]" in result.stdout
    result = run("run", str(package), "--quantize", "bf16")
    assert result.returncode == 1 and "--quantize does not apply" in result.stderr


def test_run_bf16_and_int8_entropy(files: tuple[Path, Path]) -> None:
    model, data = files
    result = run("run", str(model), "--quantize", "bf16", "--repeat", "0")
    assert result.returncode == 0, result.stderr
    result = run(
        "run", str(model), "--repeat", "0", "--quantize", "int8", "--calibration", str(data),
        "--calibration-method", "entropy",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "options, message",
    [
        (["--quantize", "int4"], "unknown quantization scheme 'int4'"),
        (["--quantize", "int8"], "--quantize int8 needs --calibration"),
        (["--calibration", "DATA"], "--calibration and --quantize-skip need --quantize"),
        (["--quantize", "int8", "--calibration", "DATA", "--calibration-method", "mse"],
         "unknown calibration method 'mse'"),
        (["--quantize", "int8", "--calibration", "OTHER"], "calibration sample 0 has no input"),
        (["--quantize", "int8", "--calibration", "SHAPE"], "has shape [1, 16], the model takes"),
        (["--quantize", "int8", "--calibration", "RAGGED"], "one leading sample axis"),
        (["--quantize", "int8", "--calibration", "BROKEN"], "cannot read the calibration file"),
    ],
)  # fmt: skip
def test_bad_options_give_one_line(
    files: tuple[Path, Path], tmp_path: Path, options: list[str], message: str
) -> None:
    model, data = files
    np.savez(tmp_path / "other.npz", x=np.zeros((2, 1, 32), np.float32))
    np.savez(tmp_path / "shape.npz", input=np.zeros((2, 1, 16), np.float32))
    np.savez(tmp_path / "ragged.npz", input=np.zeros((2, 1, 32)), more=np.zeros((3, 1)))
    (tmp_path / "broken.npz").write_bytes(b"not a zip")
    paths = {
        "DATA": data,
        "OTHER": tmp_path / "other.npz",
        "SHAPE": tmp_path / "shape.npz",
        "RAGGED": tmp_path / "ragged.npz",
        "BROKEN": tmp_path / "broken.npz",
    }
    options = [str(paths.get(o, o)) for o in options]
    result = run("compile", str(model), "-o", str(tmp_path / "m.zgt"), *options)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "m.zgt").exists()


def test_run_refuses_check_of_a_quantized_build(files: tuple[Path, Path]) -> None:
    model, _ = files
    result = run("run", str(model), "--quantize", "bf16", "--check")
    assert result.returncode == 1 and "differs from it by design" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
