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


@pytest.fixture(scope="module")
def mlp_package(mlp_file: Path, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("packages") / "mlp.zgt"
    result = run("ziggurat", "compile", str(mlp_file), "-o", str(path))
    assert result.returncode == 0, result.stderr
    assert f"wrote {path}" in result.stdout
    return path


def _one_line_error(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert message in result.stderr, result.stderr


def test_run_package_writes_outputs(mlp_file: Path, mlp_package: Path, tmp_path: Path) -> None:
    from models import onnxruntime_outputs

    x = np.random.default_rng(0).standard_normal((1, 32)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "out.npz"
    args = ["--input", f"input={tmp_path / 'x.npy'}", "--output", str(out), "--repeat", "3"]
    result = run("ziggurat", "run", str(mlp_package), *args)
    assert result.returncode == 0, result.stderr
    assert f"loaded {mlp_package}" in result.stdout and f"wrote {out}" in result.stdout
    with np.load(out) as saved:
        assert saved.files == ["probabilities"]
        expected = onnxruntime_outputs(onnx.load(str(mlp_file)), {"input": x})[0]
        np.testing.assert_allclose(saved["probabilities"], expected, rtol=1e-5, atol=1e-6)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.npz", "x.npy"]


def test_run_package_without_the_compiler(mlp_package: Path) -> None:
    code = (
        "import sys\n"
        "class NoCompiler:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('xdsl', 'llvmlite', 'onnx', 'onnxruntime'):\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, NoCompiler())\n"
        "from ziggurat.cli import main\n"
        f"sys.exit(main(['run', {str(mlp_package)!r}, '--repeat', '2']))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "output 'probabilities': shape [1, 10]" in result.stdout


@pytest.mark.parametrize(
    "make_file, message",
    [
        (lambda data: data[: len(data) // 2], "is not a complete .zgt file (truncated or corrupt"),
        (lambda data: b"", "is not a complete .zgt file"),
        (lambda data: b"\x7fELF" + data[4:], "is not a complete .zgt file"),
    ],
)
def test_run_bad_package(mlp_package: Path, tmp_path: Path, make_file, message: str) -> None:
    bad = tmp_path / "bad.zgt"
    bad.write_bytes(make_file(mlp_package.read_bytes()))
    _one_line_error(run("ziggurat", "run", str(bad), "--output", str(tmp_path / "o.npz")), message)
    assert not (tmp_path / "o.npz").exists()
    assert "Traceback" in run("ziggurat", "--traceback", "run", str(bad)).stderr


@pytest.mark.parametrize(
    "name, array, message",
    [
        ("inputs", np.ones((1, 32), np.float32), "the model has no input 'inputs'"),
        ("input", np.ones((2, 32), np.float32), "input 'input' expects shape [1, 32], got [2, 32]"),
        ("input", np.ones((1, 32), np.int64), "input 'input' expects dtype float32, got int64"),
    ],
)
def test_run_package_with_wrong_input(
    mlp_package: Path, tmp_path: Path, name: str, array: np.ndarray, message: str
) -> None:
    np.save(tmp_path / "x.npy", array)
    result = run("ziggurat", "run", str(mlp_package), "--input", f"{name}={tmp_path / 'x.npy'}")
    _one_line_error(result, message)


def test_package_options_that_do_not_apply(mlp_package: Path) -> None:
    result = run("ziggurat", "run", str(mlp_package), "--target", "llvm")
    _one_line_error(result, "is already compiled: --shape and --target do not apply")
    result = run("ziggurat", "bench", str(mlp_package), "--compare", "onnxruntime")
    _one_line_error(result, "--compare onnxruntime needs the ONNX model")


def test_bench_package_with_profile(mlp_package: Path) -> None:
    result = run("ziggurat", "bench", str(mlp_package), "--profile", "--repeat", "5")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "Execution time summary:" in lines and any(line.startswith("memory:") for line in lines)
    header = next(line for line in lines if "GFLOP/s" in line)
    assert header.split() == ["#", "Name", "Shape", "Time", "(us)", "Percent", "GFLOP/s"]
    assert any(line.split()[:2] == ["0", "matmul_add_relu_0"] for line in lines if line.strip())
    assert any(line.split()[:1] == ["Total"] for line in lines if line.strip())


def test_bench_onnx_against_onnxruntime(mlp_file: Path) -> None:
    result = run("ziggurat", "bench", str(mlp_file), "--compare", "onnxruntime", "--repeat", "5")
    assert result.returncode == 0, result.stderr
    assert "compiled in" in result.stdout and "ziggurat/onnxruntime =" in result.stdout


def test_cross_compile_to_an_aarch64_object(mlp_file: Path, tmp_path: Path) -> None:
    target = "llvm -mtriple=aarch64-linux-gnu"
    output = tmp_path / "mlp.o"
    result = run("ziggurat", "compile", "--target", target, str(mlp_file), "-o", str(output))
    assert result.returncode == 0, result.stderr
    assert "cannot run on this machine" in result.stdout
    header = output.read_bytes()[:20]
    assert header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") == 183
    package = tmp_path / "mlp.zgt"
    result = run("ziggurat", "compile", "--target", target, str(mlp_file), "-o", str(package))
    _one_line_error(result, "cannot link code for aarch64-linux-gnu")
    assert not package.exists()


def test_outputs_keep_any_name(tmp_path: Path) -> None:
    from models import make_model
    from onnx import helper

    model = make_model([helper.make_node("Relu", ["x"], ["file"])], {"x": [4]}, {"file": [4]})
    onnx.save(model, str(tmp_path / "relu.onnx"))
    np.save(tmp_path / "x.npy", np.array([-1, 2, -3, 4], np.float32))
    out = tmp_path / "out.npz"
    result = run("ziggurat", "run", str(tmp_path / "relu.onnx"), "--input",
                 f"x={tmp_path / 'x.npy'}", "--output", str(out), "--repeat", "0")  # fmt: skip
    assert result.returncode == 0, result.stderr
    with np.load(out) as saved:
        assert saved.files == ["file"]
        np.testing.assert_array_equal(saved["file"], [0, 2, 0, 4])


def test_compile_over_the_memory_limit_names_the_tensor(
    mlp_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from ziggurat.cli import main

    monkeypatch.setenv("ZIGGURAT_MEMORY_LIMIT", "1K")
    output = tmp_path / "mlp.zgt"
    assert main(["compile", str(mlp_file), "-o", str(output)]) == 1
    error = capsys.readouterr().err
    assert "Traceback" not in error and len(error.strip().splitlines()) == 1
    assert "limit is 1,024 bytes" in error and "largest: param" in error
    assert not output.exists() and list(tmp_path.iterdir()) == []


def test_an_input_file_declaring_a_huge_array_is_one_clear_line(
    mlp_file: Path, tmp_path: Path, capsys
) -> None:
    from ziggurat.cli import main

    huge = tmp_path / "x.npy"
    with open(huge, "wb") as stream:
        header = {"descr": "<f4", "fortran_order": False, "shape": (1 << 40,)}
        np.lib.format.write_array_header_1_0(stream, header)
    assert main(["run", str(mlp_file), "--input", f"input={huge}"]) == 1
    error = capsys.readouterr().err
    assert "Traceback" not in error and len(error.strip().splitlines()) == 1
    assert "cannot read input 'input'" in error and "truncated or corrupt" in error
