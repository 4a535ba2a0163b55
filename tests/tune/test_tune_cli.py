"""`ziggurat tune` from the shell: tune, resume, show, merge, compile with the log, and one
line for bad input."""

import subprocess
import sys
from pathlib import Path

import onnx
import pytest

from ziggurat.cli import main
from ziggurat.examples import mlp_model
from ziggurat.tune import load_records

QUICK = ["--trials", "6", "--number", "2", "--repeat", "2", "--min-repeat-ms", "1", "--quiet"]


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("model") / "mlp.onnx"
    onnx.save(mlp_model(batch=4), str(path))
    return path


def test_tune_resume_show_merge_and_compile(model: Path, tmp_path: Path, capsys):
    log = tmp_path / "tune.jsonl"
    assert main(["tune", str(model), "--log", str(log), *QUICK]) == 0
    first = load_records(log)
    trials = {(r.workload.key, r.config) for r in first}
    assert len(trials) == 6  # the model's budget; the rest confirm defaults and bests
    assert len({key for key, _ in trials}) == 3, "each of the three kernels measured"
    table = capsys.readouterr().out
    assert "default us" in table and "end to end:" in table
    assert main(["tune", str(model), "--log", str(log), *QUICK]) == 0
    assert len(load_records(log)) == len(first), "the same command again measures nothing"
    assert main(["tune", "show", str(log)]) == 0
    shown = capsys.readouterr().out
    assert f"{len(first)} records" in shown and "split(" in shown
    best = tmp_path / "best.jsonl"
    assert main(["tune", "merge", str(log), "-o", str(best)]) == 0
    assert len(load_records(best)) == 3
    out = tmp_path / "mlp.zgt"
    assert main(["compile", str(model), "--tuning-log", str(best), "-o", str(out)]) == 0
    assert out.is_file()
    assert "3 of 4 kernels built with tuned configs" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--tuner", "annealing"], "unknown tuner 'annealing'; tuners are ga, grid, random, xgb"),
        (["--time", "soon"], "--time 'soon': give a duration like 90s, 20m or 2h"),
    ],
)
def test_bad_tune_options_give_one_line(model: Path, tmp_path: Path, capsys, argv, message):
    assert main(["tune", str(model), "--log", str(tmp_path / "t.jsonl"), *argv]) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"error: {message}"


def test_a_file_that_is_not_a_log_gives_one_line(model: Path, capsys):
    assert main(["tune", "show", str(model)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "not a tuning log line" in err and "\n" not in err


def test_a_plugin_template_is_tuned_and_built_from_the_shell(model: Path, tmp_path: Path):
    """`--load-plugin` brings the guide's template to `tune` (and its measuring worker) and
    to `compile`, in fresh processes (a registered template would outlive an in-process
    call)."""
    template = Path(__file__).resolve().parents[2] / "docs" / "examples"
    template = template / "tiled_matmul_template.py"
    log, out = tmp_path / "tune.jsonl", tmp_path / "mlp.zgt"
    ziggurat = [str(Path(sys.executable).parent / "ziggurat")]
    plugin = ["--load-plugin", str(template)]
    tuned = subprocess.run(
        [*ziggurat, "tune", str(model), "--log", str(log), *plugin, *QUICK, "--no-end-to-end"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert tuned.returncode == 0, tuned.stderr
    records = load_records(log)
    assert records and all(
        set(r.config) == {"tile_rows", "tile_cols", "rows", "outer"}
        for r in records
        if r.workload.name.startswith("matmul_add_relu")
    )
    assert all(r.result.error_code == 0 for r in records)
    built = subprocess.run(
        [*ziggurat, "compile", str(model), "--tuning-log", str(log), *plugin, "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    assert out.is_file()
