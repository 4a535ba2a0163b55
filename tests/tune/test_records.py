"""The tuning log: its line format, durable appends, strict reading and picking the best."""

import json
import math
import re
from pathlib import Path

import pytest

from ziggurat.core.errors import ZigguratError
from ziggurat.core.targets import as_target
from ziggurat.schedule.space import Config
from ziggurat.tune.records import (
    FORMAT_VERSION,
    ErrorCode,
    MeasureRecord,
    MeasureResult,
    RecordWriter,
    TargetInfo,
    TuningLogError,
    Workload,
    best_records,
    configs_for_target,
    decode,
    encode,
    load_records,
    merge,
    pick_best,
)

SKYLAKE = TargetInfo("x86_64-unknown-linux-gnu", "skylake", "+avx2,+fma", 4)
HASWELL = TargetInfo("x86_64-unknown-linux-gnu", "haswell", "+fma,+avx2", 4)
ZEN4 = TargetInfo("x86_64-unknown-linux-gnu", "znver4", "+avx2,+avx512f,+fma", 4)


def make_record(
    key: str = "k1",
    target: TargetInfo = SKYLAKE,
    costs: tuple[float, ...] = (0.002,),
    error_code: ErrorCode = ErrorCode.NO_ERROR,
    tile: int = 4,
    default_tile: int | None = None,
) -> MeasureRecord:
    default = None if default_tile is None else _config(default_tile)
    return MeasureRecord(
        workload=Workload(
            key, f"matmul_{key}", ((64, 128), (128, 96)), ("f32", "f32"), "ab12", default
        ),
        target=target,
        config=_config(tile),
        trace="split(i, 4); vectorize(j)",
        result=MeasureResult(
            costs=costs,
            error_code=error_code,
            error="" if error_code == ErrorCode.NO_ERROR else "boom",
            build_seconds=0.5,
            run_seconds=0.25,
            timestamp=1_700_000_000.0,
        ),
        kernel_hash="9b0d",
        worker="host-a",
    )


def _config(tile: int) -> Config:
    return Config.of({"tile": tile, "order": "ij", "unroll": True})


def write_lines(path: Path, *lines: str, end: str = "\n") -> Path:
    path.write_text("\n".join(lines) + end)
    return path


def test_encode_decode_round_trip():
    record = make_record(costs=(0.001, 0.003, 0.002))
    line = encode(record)
    assert "\n" not in line
    assert decode(line) == record
    fields = json.loads(line)
    assert list(fields) == [
        "version",
        "workload",
        "target",
        "config",
        "result",
        "trace",
        "kernel_hash",
        "ziggurat_version",
        "worker",
    ]
    assert fields["config"] == {"order": "ij", "tile": 4, "unroll": True}
    assert type(decode(line).config["unroll"]) is bool
    assert fields["version"] == FORMAT_VERSION
    assert fields["ziggurat_version"] == record.ziggurat_version != ""


def test_median_is_infinite_for_a_failure():
    assert make_record(costs=(0.003, 0.001, 0.002)).result.median == 0.002
    assert make_record(costs=(0.004, 0.001)).result.median == pytest.approx(0.0025)
    assert make_record(costs=()).result.median == math.inf
    failed = make_record(costs=(0.001,), error_code=ErrorCode.RUN_TIMEOUT)
    assert failed.result.median == math.inf


def test_target_info_of_a_cpu_attribute():
    cpu = as_target(
        "llvm -mtriple=x86_64-unknown-linux-gnu -mcpu=skylake -mattr=+avx2 -num-cores=3"
    )
    assert TargetInfo.of(cpu) == TargetInfo("x86_64-unknown-linux-gnu", "skylake", "+avx2", 3)


def test_writer_appends_and_flushes_each_record(tmp_path: Path):
    log = tmp_path / "tune.jsonl"
    first, second, third = (make_record(key) for key in ("k1", "k2", "k3"))
    log.write_text(encode(first) + "\n")
    with RecordWriter(log) as writer:
        writer.write(second)
        assert load_records(log) == [first, second]
        writer.write(third)
        assert load_records(log) == [first, second, third]
    assert log.read_text().count("\n") == 3


def test_writer_ends_a_torn_line_before_appending(tmp_path: Path):
    log = write_lines(tmp_path / "tune.jsonl", encode(make_record("k1")), '{"vers', end="")
    with RecordWriter(log) as writer:
        writer.write(make_record("k2"))
    lines = log.read_text().splitlines()
    assert lines[1] == '{"vers'
    assert decode(lines[2]) == make_record("k2")


def test_blank_and_comment_lines_are_skipped(tmp_path: Path):
    log = write_lines(tmp_path / "tune.jsonl", "# tuned on host-a", "", encode(make_record()), "  ")
    assert load_records(log) == [make_record()]
    assert load_records(write_lines(tmp_path / "empty.jsonl", end="")) == []


def test_torn_last_line_is_skipped_with_a_warning(tmp_path: Path):
    line = encode(make_record())
    log = write_lines(tmp_path / "tune.jsonl", line, line[:30], end="")
    with pytest.warns(UserWarning, match=re.escape(f"{log}:2: skipping the torn last line")):
        assert load_records(log) == [make_record()]


def test_torn_middle_line_is_an_error_naming_file_and_line(tmp_path: Path):
    line = encode(make_record())
    log = write_lines(tmp_path / "tune.jsonl", line, line[:30], line)
    with pytest.raises(TuningLogError) as caught:
        load_records(log)
    assert str(caught.value) == f"{log}:2: not a tuning log line (not JSON)"


def test_a_complete_last_line_without_newline_is_read(tmp_path: Path):
    log = write_lines(tmp_path / "tune.jsonl", encode(make_record()), end="")
    assert load_records(log) == [make_record()]


def test_another_format_version_is_refused(tmp_path: Path):
    fields = json.loads(encode(make_record()))
    fields["version"] = 7
    log = write_lines(tmp_path / "tune.jsonl", encode(make_record()), json.dumps(fields))
    with pytest.raises(TuningLogError) as caught:
        load_records(log)
    assert str(caught.value) == f"{log}:2: format version 7, this Ziggurat reads version 1"
    assert isinstance(caught.value, ZigguratError)


REMOVED = object()


def edited_line(*path: str, value: object = REMOVED) -> str:
    """A good record's line with the field at `path` set to `value`, or removed."""
    fields = json.loads(encode(make_record()))
    *parents, name = path
    inner = fields
    for parent in parents:
        inner = inner[parent]
    if value is REMOVED:
        del inner[name]
    else:
        inner[name] = value
    return json.dumps(fields)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("tile=4 cost=0.002", "not a tuning log line (not JSON)"),
        ("[1, 2]", "not a tuning log line (JSON, but not an object)"),
        (edited_line("version"), "missing field 'version'"),
        (edited_line("result", "costs"), "missing field 'result.costs'"),
        (
            edited_line("target", "cores", value="4"),
            "field 'target.cores' must be an integer, got \"4\"",
        ),
        (
            edited_line("result", "error_code", value=3),
            "field 'result.error_code' must be an error code (0, 1, 2, 4, 5, 6, 7, 8), got 3",
        ),
        (
            edited_line("config", "tile", value=1.5),
            "field 'config.tile' must be an integer, string or boolean, got 1.5",
        ),
        (
            edited_line("workload", "shapes", value=[[64, -1]]),
            "field 'workload.shapes' must be a list of lists of non-negative integers, got a list",
        ),
    ],
)
def test_a_bad_line_is_an_error_naming_file_line_and_problem(
    tmp_path: Path, line: str, problem: str
):
    log = write_lines(tmp_path / "tune.jsonl", "# header", line)
    with pytest.raises(TuningLogError) as caught:
        load_records(log)
    assert str(caught.value) == f"{log}:2: {problem}"


def test_a_missing_log_is_an_error(tmp_path: Path):
    missing = tmp_path / "nowhere.jsonl"
    with pytest.raises(TuningLogError, match=re.escape(f"{missing}: cannot read the tuning log")):
        load_records(missing)


def test_best_records_keep_the_fastest_success_per_workload_and_target():
    slow, fast = make_record(costs=(0.003,), tile=2), make_record(costs=(0.001,), tile=8)
    crashed = make_record(costs=(0.0001,), error_code=ErrorCode.RUNTIME_ERROR, tile=16)
    elsewhere = make_record(target=HASWELL, costs=(0.005,))
    best = best_records([slow, crashed, fast, elsewhere, make_record("k2", costs=())])
    assert best == {("k1", SKYLAKE): fast, ("k1", HASWELL): elsewhere}


def test_a_config_timed_several_times_counts_by_its_median():
    lucky = make_record(costs=(0.0005,), tile=8)
    again = [make_record(costs=(0.003,), tile=8), make_record(costs=(0.0031,), tile=8)]
    steady = make_record(costs=(0.002,), tile=2)
    best = best_records([steady, lucky, *again])
    assert best[("k1", SKYLAKE)] == steady


def test_a_config_must_beat_the_default_by_the_margin():
    default = make_record(costs=(0.00200,), tile=4, default_tile=4)
    close = make_record(costs=(0.00197,), tile=8, default_tile=4)  # 1.5% faster: noise
    assert best_records([default, close])[("k1", SKYLAKE)] == default
    clear = make_record(costs=(0.00180,), tile=2, default_tile=4)  # 10% faster
    assert best_records([default, close, clear])[("k1", SKYLAKE)] == clear
    assert decode(encode(clear)).workload.default == _config(4)


def test_pick_best_keeps_the_lowest_median_and_ignores_errors(tmp_path: Path):
    log = tmp_path / "tune.jsonl"
    fast = make_record(costs=(0.001, 0.009, 0.001), tile=8)
    with RecordWriter(log) as writer:
        writer.write(make_record(costs=(0.002, 0.002, 0.002), tile=2))
        writer.write(make_record(costs=(0.0001,), error_code=ErrorCode.WRONG_ANSWER, tile=16))
        writer.write(fast)
        writer.write(make_record("k2", error_code=ErrorCode.COMPILE_ERROR))
    best_log = tmp_path / "best.jsonl"
    assert pick_best(log, best_log) == 1
    assert load_records(best_log) == [fast]


def test_pick_best_into_an_existing_log_keeps_the_better(tmp_path: Path):
    best_log = write_lines(
        tmp_path / "best.jsonl",
        encode(make_record("k1", costs=(0.001,), tile=1)),
        encode(make_record("k2", costs=(0.005,), tile=1)),
    )
    new_log = write_lines(
        tmp_path / "new.jsonl",
        encode(make_record("k1", costs=(0.004,), tile=2)),
        encode(make_record("k2", costs=(0.003,), tile=2)),
        encode(make_record("k3", costs=(0.002,), tile=2)),
    )
    assert pick_best(new_log, best_log) == 3
    best = {record.workload.key: record.config["tile"] for record in load_records(best_log)}
    assert best == {"k1": 1, "k2": 2, "k3": 2}
    assert sorted(path.name for path in tmp_path.iterdir()) == ["best.jsonl", "new.jsonl"]


def test_merge_takes_the_best_over_several_logs(tmp_path: Path):
    first = write_lines(tmp_path / "a.jsonl", encode(make_record("k1", costs=(0.003,), tile=1)))
    second = write_lines(
        tmp_path / "b.jsonl",
        encode(make_record("k1", costs=(0.002,), tile=2)),
        encode(make_record("k1", target=HASWELL, costs=(0.001,), tile=3)),
    )
    out = tmp_path / "best.jsonl"
    assert merge([first, second], out) == 2
    assert {(r.target.cpu, r.config["tile"]) for r in load_records(out)} == {
        ("skylake", 2),
        ("haswell", 3),
    }


def test_a_bad_existing_log_is_not_overwritten(tmp_path: Path):
    best_log = write_lines(tmp_path / "best.jsonl", "not json", encode(make_record()))
    new_log = write_lines(tmp_path / "new.jsonl", encode(make_record("k2")))
    with pytest.raises(TuningLogError, match=re.escape(f"{best_log}:1:")):
        pick_best(new_log, best_log)
    assert best_log.read_text().startswith("not json\n")


def test_configs_for_target_prefer_this_cpu_then_same_features_then_any():
    records = [
        # k1: measured here, and faster on a CPU with other features: this CPU's wins.
        make_record("k1", target=SKYLAKE, costs=(0.004,), tile=1),
        make_record("k1", target=ZEN4, costs=(0.001,), tile=2),
        # k2: not measured here; another CPU with the same features (listed in another
        # order) wins over a faster one with other features.
        make_record("k2", target=ZEN4, costs=(0.001,), tile=3),
        make_record("k2", target=HASWELL, costs=(0.004,), tile=4),
        # k3: only another ISA; the failed record here does not count.
        make_record("k3", target=ZEN4, costs=(0.002,), tile=5),
        make_record("k3", target=SKYLAKE, error_code=ErrorCode.BUILD_TIMEOUT, tile=6),
        # k4: two records of this CPU: the faster one.
        make_record("k4", target=SKYLAKE, costs=(0.003,), tile=7),
        make_record("k4", target=SKYLAKE, costs=(0.002,), tile=8),
    ]
    configs, summary = configs_for_target(records, SKYLAKE)
    assert {key: config["tile"] for key, config in configs.items()} == {
        "k1": 1,
        "k2": 4,
        "k3": 5,
        "k4": 8,
    }
    assert summary == (
        "tuning records: 2 kernels from this CPU, 1 from another CPU with the same features, "
        "1 from other CPUs"
    )


def test_configs_for_target_prefer_the_same_core_count():
    on_eight_cores = TargetInfo(SKYLAKE.triple, SKYLAKE.cpu, SKYLAKE.features, 8)
    records = [
        make_record(target=on_eight_cores, costs=(0.001,), tile=1),
        make_record(target=SKYLAKE, costs=(0.003,), tile=2),
    ]
    configs, summary = configs_for_target(records, SKYLAKE)
    assert configs["k1"]["tile"] == 2
    assert summary.startswith("tuning records: 1 kernel from this CPU, 0 from another CPU")
