"""docs/tuning.md's program runs as written, with small trial counts."""

import re
from pathlib import Path

from ziggurat.tune import load_records

DOC = Path(__file__).resolve().parents[2] / "docs" / "tuning.md"


def test_the_tuning_program_runs(tmp_path: Path, monkeypatch):
    (program,) = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    monkeypatch.chdir(tmp_path)
    settings = {"TRIALS": 3, "EARLY_STOPPING": 2, "NUMBER": 2, "MIN_REPEAT_MS": 1}
    exec(compile(program, str(DOC), "exec"), dict(settings))
    records = load_records(tmp_path / "tune.jsonl")
    assert len(records) >= 3
    assert (tmp_path / "best.jsonl").is_file() and (tmp_path / "mlp.zgt").is_file()
