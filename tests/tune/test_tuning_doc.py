"""docs/tuning.md's programs run as written, one after the other, with small trial counts."""

import re
from pathlib import Path

from ziggurat.tune import load_records

DOC = Path(__file__).resolve().parents[2] / "docs" / "tuning.md"


def test_the_tuning_program_runs(tmp_path: Path, monkeypatch):
    programs = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert len(programs) == 2
    monkeypatch.chdir(tmp_path)
    names = {"TRIALS": 3, "EARLY_STOPPING": 2, "NUMBER": 2, "MIN_REPEAT_MS": 1, "MODEL_TRIALS": 6}
    for program in programs:
        exec(compile(program, str(DOC), "exec"), names)
    records = load_records(tmp_path / "tune.jsonl")
    assert len(records) >= 3
    assert (tmp_path / "best.jsonl").is_file() and (tmp_path / "mlp.zgt").is_file()
    model_log = load_records(tmp_path / "model.jsonl")
    assert len({(r.workload.key, r.config) for r in model_log}) == 6  # the budget
    assert "end to end:" in str(names["result"])
