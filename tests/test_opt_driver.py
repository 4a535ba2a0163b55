"""ziggurat-opt's debugging flags, diagnostics, reproducers, discovery and plugins, run as a
user runs them, on the BERT-style encoder imported with `ziggurat import`."""

import os
import re
import subprocess
import sys
from pathlib import Path

import onnx
import pytest

from benchmarks.models.bert import bert_encoder

BIN = Path(sys.executable).parent
LOWERING = "convert-graph-to-te,convert-te-to-sched,sched-parallelize,convert-sched-to-target"


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
def bert_mlir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bert")
    onnx.save(bert_encoder(), str(folder / "bert.onnx"))
    result = run("ziggurat", "import", str(folder / "bert.onnx"), "-o", str(folder / "bert.mlir"))
    assert result.returncode == 0, result.stderr
    return folder / "bert.mlir"


def test_print_ir_after_all(bert_mlir: Path) -> None:
    result = run(
        "ziggurat-opt",
        str(bert_mlir),
        "-p",
        "convert-graph-to-te,convert-te-to-sched",
        "--print-ir-after-all",
    )
    assert result.returncode == 0, result.stderr
    assert "// -----// IR Dump After convert-graph-to-te //----- //" in result.stderr
    assert "// -----// IR Dump After convert-te-to-sched //----- //" in result.stderr
    assert "sched.for" in result.stdout


def test_print_ir_before_and_after_named_passes(bert_mlir: Path) -> None:
    result = run(
        "ziggurat-opt",
        str(bert_mlir),
        "-p",
        "convert-graph-to-te,convert-te-to-sched",
        "--print-ir-before=convert-te-to-sched",
        "--print-ir-after",
        "convert-graph-to-te",
        "--print-ir-before-all",
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("IR Dump Before convert-te-to-sched") == 1
    assert result.stderr.count("IR Dump Before convert-graph-to-te") == 1
    assert result.stderr.count("IR Dump After convert-graph-to-te") == 1
    assert "IR Dump After convert-te-to-sched" not in result.stderr


def test_print_ir_after_change(bert_mlir: Path) -> None:
    result = run(
        "ziggurat-opt",
        str(bert_mlir),
        "-p",
        "convert-graph-to-te,sched-parallelize",
        "--print-ir-after-change",
    )
    assert result.returncode == 0, result.stderr
    assert "IR Dump After convert-graph-to-te" in result.stderr
    assert "IR Dump After sched-parallelize" not in result.stderr


def test_print_ir_tree_dir(bert_mlir: Path, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    result = run("ziggurat-opt", str(bert_mlir), "-p", LOWERING, f"--print-ir-tree-dir={tree}")
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in tree.iterdir())
    assert names == [
        "000_input.mlir",
        "001_convert-graph-to-te.mlir",
        "002_convert-te-to-sched.mlir",
        "003_sched-parallelize.mlir",
        "004_convert-sched-to-target.mlir",
    ]
    assert "target.entry" in (tree / "004_convert-sched-to-target.mlir").read_text()


def test_timing_and_statistics(bert_mlir: Path) -> None:
    result = run("ziggurat-opt", str(bert_mlir), "-p", LOWERING, "--timing", "--pass-statistics")
    assert result.returncode == 0, result.stderr
    assert "Execution time report" in result.stderr
    for row in ("parse", "convert-graph-to-te", "convert-sched-to-target", "output", "Total"):
        assert row in result.stderr
    assert "%)" in result.stderr
    assert "'convert-graph-to-te'" in result.stderr and "(kernels-created)" in result.stderr
    assert "(loops-parallelized)" in result.stderr


def test_list_passes_and_dialects() -> None:
    result = run("ziggurat-opt", "--list-passes")
    assert result.returncode == 0, result.stderr
    assert (
        "convert-sched-to-target  Makes target kernels and the target entry from sched kernels"
        in result.stdout
    )
    assert "    target: str|None = none" in result.stdout
    assert "    min-work: int = 65536" in result.stdout
    assert re.search(r"^cse$", result.stdout, re.MULTILINE)
    dialects = run("ziggurat-opt", "--list-dialects").stdout.split()
    assert {"graph", "te", "sched", "target", "llvm", "arith"} <= set(dialects)


@pytest.mark.parametrize(
    "pipeline, message",
    [
        (
            "convert-graph-to-tee",
            "error: unknown pass 'convert-graph-to-tee'; did you mean 'convert-graph-to-te'",
        ),
        ("sched-parallelize{min-work=many}", "error: bad options for pass 'sched-parallelize'"),
        ("sched-parallelize{bogus=1}", 'Provided arguments ["bogus"] not found'),
    ],
)
def test_bad_pipelines_are_one_line_errors(bert_mlir: Path, pipeline: str, message: str) -> None:
    result = run("ziggurat-opt", str(bert_mlir), "-p", pipeline)
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr


def test_undefined_value_and_verifier_errors_are_located(tmp_path: Path) -> None:
    source = tmp_path / "bad.mlir"
    source.write_text(
        "func.func @f(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {\n"
        "  %y = graph.softmax %x {axis = 4 : i64} : tensor<2x3xf32>\n"
        "  func.return %y : tensor<2x3xf32>\n"
        "}\n"
    )
    result = run("ziggurat-opt", str(source))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert (
        f"{source}:2:3: error: 'graph.softmax' op axis 4 is out of range for rank 2."
        in result.stderr
    )
    assert "Traceback" in run("ziggurat-opt", str(source), "--traceback").stderr


def test_failing_pass_writes_a_reproducer(tmp_path: Path) -> None:
    source = tmp_path / "k.mlir"
    source.write_text(
        "func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {\n"
        "  %y = graph.relu %x : tensor<4xf32>\n"
        "  func.return %y : tensor<4xf32>\n"
        "}\n"
    )
    pipeline = (
        'convert-graph-to-te,convert-te-to-sched,convert-sched-to-target{target="llvm -mfoo"}'
    )
    result = run("ziggurat-opt", str(source), "-p", pipeline, "--print-ir-after-failure")
    assert result.returncode == 1
    assert "pass 'convert-sched-to-target' failed: unknown target option '-mfoo'" in result.stderr
    assert "IR Dump After Failure convert-sched-to-target" in result.stderr
    reproducer = tmp_path / "k.repro.mlir"
    assert reproducer.exists()
    lines = reproducer.read_text().splitlines()
    assert lines[0] == "// ziggurat-opt reproducer"
    assert lines[1].startswith("// pipeline: convert-sched-to-target")
    assert "sched.for" in reproducer.read_text()
    replay = run("ziggurat-opt", "--run-reproducer", str(reproducer))
    assert replay.returncode == 1 and "unknown target option '-mfoo'" in replay.stderr
    fixed = run(
        "ziggurat-opt",
        "--run-reproducer",
        str(reproducer),
        "-p",
        'convert-sched-to-target{target="llvm"}',
    )
    assert fixed.returncode == 0, fixed.stderr
    assert "target.entry @main" in fixed.stdout


def test_output_file_is_not_written_on_error(tmp_path: Path) -> None:
    source = tmp_path / "bad.mlir"
    source.write_text("func.func @f() {\n  %x = graph.relu\n}\n")
    out = tmp_path / "out.mlir"
    result = run("ziggurat-opt", str(source), "-o", str(out))
    assert result.returncode == 1 and not out.exists()


def test_a_first_character_the_lexer_refuses_is_a_located_error(tmp_path: Path) -> None:
    source = tmp_path / "bad.mlir"
    source.write_text("\x95func.func @f() {\n  func.return\n}\n")
    result = run("ziggurat-opt", str(source))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{source}:1:1: error: Unexpected character" in result.stderr


def test_a_string_left_open_fails_at_once(tmp_path: Path) -> None:
    """xDSL's string pattern backtracked exponentially on an unclosed quote followed by a
    long line: this input ran for minutes (see core/diagnostics.py)."""
    source = tmp_path / "open.mlir"
    source.write_text(
        "func.func @f() -> tensor<3xf32> {\n"
        '  %w = graph.weight "conv.w : tensor<3x2x3x3xf32> tensor<3x2x3x3xf32> tensor<3xf32>\n'
        "  func.return %w : tensor<3xf32>\n"
        "}\n"
    )
    result = run("ziggurat-opt", str(source))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{source}:2:21: error: End of file reached before closing string" in result.stderr


@pytest.mark.parametrize("width", ["99999999999999999999", "4000000000", "16777216"])
def test_an_integer_type_wider_than_mlir_allows_is_a_located_error(
    tmp_path: Path, width: str
) -> None:
    """`i99999999999999999999` was an OverflowError inside xDSL (found by tests/fuzz)."""
    source = tmp_path / "wide.mlir"
    source.write_text(f"func.func @f() {{\n  %c = arith.constant 1 : i{width}\n  func.return\n}}\n")
    result = run("ziggurat-opt", str(source))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{source}:2:27: error: integer type i{width} is wider than 16777215 bits" in (
        result.stderr
    )


def test_expected_diagnostics_are_checked_per_chunk(tmp_path: Path) -> None:
    body = (
        "func.func @f(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {{\n"
        "  // expected-error@+1 {{{{{text}}}}}\n"
        "  %0 = graph.softmax %a {{axis = 2 : i64}} : tensor<2x3xf32>\n"
        "  func.return %0 : tensor<2x3xf32>\n"
        "}}\n"
    )
    good = tmp_path / "good.mlir"
    good.write_text(
        body.format(text="axis 2 is out of range") + "// -----\n" + body.format(text="rank 2")
    )
    result = run("ziggurat-opt", str(good), "--split-input-file", "--verify-expected-diagnostics")
    assert result.returncode == 0, result.stderr

    wrong = tmp_path / "wrong.mlir"
    wrong.write_text(
        body.format(text="axis 2 is out of range") + "// -----\n" + body.format(text="no such text")
    )
    result = run("ziggurat-opt", str(wrong), "--split-input-file", "--verify-expected-diagnostics")
    assert result.returncode == 1
    assert f'{wrong}:9: error: expected error "no such text" was not produced' in result.stderr
    assert (
        f"{wrong}:9:3: error: 'graph.softmax' op axis 2 is out of range for rank 2. (unexpected)"
        in result.stderr
    )

    missing = tmp_path / "missing.mlir"
    missing.write_text(
        "// expected-error@+2 {{never}}\nfunc.func @f(%a: tensor<2xf32>) -> tensor<2xf32> {\n"
        "  func.return %a : tensor<2xf32>\n}\n"
    )
    result = run("ziggurat-opt", str(missing), "--verify-expected-diagnostics")
    assert result.returncode == 1 and 'expected error "never" was not produced' in result.stderr


def test_instruments_from_python(monkeypatch: pytest.MonkeyPatch) -> None:
    """Instruments see every pass; those after the target level once per compile unit (the
    code cache is off here, or cached units would run no pass at all)."""
    from io import StringIO

    from models import mlp_model

    import ziggurat
    from ziggurat.core.instruments import PassTiming, PrintIR

    monkeypatch.setenv("ZIGGURAT_CACHE", "off")
    stream = StringIO()
    timing = PassTiming()
    module, params = ziggurat.from_onnx(mlp_model(1, sizes=(8, 4)))
    lib = ziggurat.build(
        module,
        params=params,
        instruments=[PrintIR(after=["convert-te-to-sched"], stream=stream), timing],
    )
    assert stream.getvalue().startswith("// -----// IR Dump After convert-te-to-sched //----- //")
    names = [name for name, _ in timing.rows]
    after_target = names[names.index("convert-sched-to-target") + 1 :]
    assert after_target == ["convert-target-to-llvm"] * len(lib.keepalive.units)
