"""The `ziggurat` and `ziggurat-opt` commands as users run them: in a subprocess."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from models import mlp_model

BIN = Path(sys.executable).parent


def run(tool: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / tool), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )


@pytest.fixture(scope="module")
def mlp_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("models") / "mlp.onnx"
    onnx.save(mlp_model(1, sizes=(32, 16, 10)), str(path))
    return path


def test_example_checks_and_times() -> None:
    result = run("ziggurat", "example", "--repeat", "20")
    assert result.returncode == 0, result.stderr
    assert "-> OK" in result.stdout and "latency: median" in result.stdout


def test_import_then_opt_to_llvm_ir(mlp_file: Path, tmp_path: Path) -> None:
    result = run("ziggurat", "import", str(mlp_file), "-o", str(tmp_path / "mlp.mlir"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "mlp.params.npz").exists()
    pipeline = (
        "convert-graph-to-te,convert-te-to-sched,convert-sched-to-target,convert-target-to-llvm"
    )
    result = run("ziggurat-opt", str(tmp_path / "mlp.mlir"), "-p", pipeline, "-t", "llvm")
    assert result.returncode == 0, result.stderr
    defines = [line for line in result.stdout.splitlines() if line.startswith("define")]
    assert any('@"matmul_0"' in d for d in defines) and any('@"main"' in d for d in defines)


def test_opt_reads_params_beside_the_input(mlp_file: Path, tmp_path: Path) -> None:
    run("ziggurat", "import", str(mlp_file), "-o", str(tmp_path / "mlp.mlir"))
    result = run("ziggurat-opt", str(tmp_path / "mlp.mlir"), "-p", "convert-graph-to-te")
    assert result.returncode == 0, result.stderr
    assert "func.call @softmax_0" in result.stdout


def test_run_with_inputs_and_check(mlp_file: Path, tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.ones((1, 32), np.float32))
    result = run(
        "ziggurat",
        "run",
        str(mlp_file),
        "--input",
        f"input={tmp_path / 'x.npy'}",
        "--check",
        "--repeat",
        "5",
    )
    assert result.returncode == 0, result.stderr
    assert "-> OK" in result.stdout


@pytest.mark.parametrize(
    "suffix, marker",
    [(".ll", "define void @main"), (".s", "main:"), (".mlir", "target.entry @main")],
)
def test_compile_outputs(mlp_file: Path, tmp_path: Path, suffix: str, marker: str) -> None:
    output = tmp_path / f"mlp{suffix}"
    result = run(
        "ziggurat", "compile", str(mlp_file), "-o", str(output), "--target", "llvm -mcpu=x86-64"
    )
    assert result.returncode == 0, result.stderr
    assert marker in output.read_text()


def test_compile_object_file(mlp_file: Path, tmp_path: Path) -> None:
    output = tmp_path / "mlp.o"
    assert run("ziggurat", "compile", str(mlp_file), "-o", str(output)).returncode == 0
    assert output.read_bytes()[:4] == b"\x7fELF"


def test_bad_model_file_gives_one_line_and_no_output(tmp_path: Path) -> None:
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"garbage" * 100)
    result = run("ziggurat", "import", str(bad), "-o", str(tmp_path / "out.mlir"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "broken.onnx" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out.mlir").exists()


def test_unsupported_ops_from_the_cli(tmp_path: Path) -> None:
    from models import make_model
    from onnx import helper

    model = make_model(
        [helper.make_node("NonZero", ["x"], ["y"], name="nz")], {"x": [3]}, {"y": None}
    )
    path = tmp_path / "nz.onnx"
    onnx.save(model, str(path))
    result = run("ziggurat", "run", str(path))
    assert result.returncode == 1
    assert "unsupported ONNX op: NonZero (nodes: 'nz')" in result.stderr
    assert "Traceback" not in result.stderr
    assert "Traceback" in run("ziggurat", "--traceback", "run", str(path)).stderr


def test_opt_errors_are_located_without_traceback(tmp_path: Path) -> None:
    source = tmp_path / "bad.mlir"
    source.write_text(
        "func.func @f(%x: tensor<2xf32>) -> tensor<2xf32> {\n  func.return %y : tensor<2xf32>\n}\n"
    )
    result = run("ziggurat-opt", str(source))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "bad.mlir:2:15: error: use of undefined value %y" in result.stderr
    good = tmp_path / "good.mlir"
    good.write_text(
        "func.func @f(%x: tensor<2xf32>) -> tensor<2xf32> {\n  func.return %x : tensor<2xf32>\n}\n"
    )
    result = run("ziggurat-opt", str(good), "-p", "convert-graph-to-t")
    assert result.returncode == 1
    assert "unknown pass 'convert-graph-to-t'; did you mean 'convert-graph-to-te'" in result.stderr
    result = run("ziggurat-opt", str(good), "-p", "sched-parallelize{min-work=lots}")
    assert result.returncode == 1 and "min-work: int" in result.stderr
