"""The tuning log: one JSON line per measured config, appended as the tuner goes.

A log is JSON Lines, AutoTVM's layout made sturdier. Each line is one `MeasureRecord`:

    {"version": 1,
     "workload": {"key": "3f9c...", "name": "matmul_relu_0", "shapes": [[64, 128], [128, 96]],
                  "dtypes": ["float32", "float32"], "ir_hash": "a41e..."},
     "target": {"triple": "x86_64-unknown-linux-gnu", "cpu": "skylake", "features": "+avx2",
                "cores": 4},
     "config": {"tile_rows": 4, "unroll": true},
     "result": {"costs": [0.00121, 0.00119], "error_code": 0, "error": "",
                "build_seconds": 0.8, "run_seconds": 0.1, "timestamp": 1700000000.0},
     "trace": "...", "kernel_hash": "9b0d...", "ziggurat_version": "0.1.0", "worker": ""}

(printed here over several lines; in the log it is one). Blank lines and lines starting with
`#` are skipped, so a log can be annotated by hand. The writer flushes and fsyncs each line,
so a crash loses at most the line being written; the reader skips such a torn last line with
a warning and refuses anything else it cannot read, naming the file and line.
"""

import json
import math
import os
import statistics
import tempfile
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import IntEnum
from importlib.metadata import version
from pathlib import Path
from types import TracebackType
from typing import Generic, Self, TypeGuard, TypeVar

from ziggurat.core.errors import ZigguratError
from ziggurat.dialects.target import CpuTargetAttr
from ziggurat.schedule.space import Config, KnobValue

DEFAULT_MARGIN = 0.03
"""How much faster than the default a config must be to replace it: less is within the
noise of this kind of host, and a config that only ties is a risk, not a gain."""

FORMAT_VERSION = 1
"""The layout of a log line; a reader refuses lines of any other version."""

ZIGGURAT_VERSION = version("ziggurat")

StrPath = str | os.PathLike[str]


class TuningLogError(ZigguratError):
    """A tuning log that cannot be read; the message names the file and line."""


class ErrorCode(IntEnum):
    """Why a measurement failed, numbered as AutoTVM numbers them (3 is unused)."""

    NO_ERROR = 0
    INSTANTIATION_ERROR = 1
    """The config does not apply to the kernel."""
    COMPILE_ERROR = 2
    RUNTIME_ERROR = 4
    """The kernel crashed or was killed by a signal."""
    WRONG_ANSWER = 5
    BUILD_TIMEOUT = 6
    RUN_TIMEOUT = 7
    UNKNOWN_ERROR = 8


@dataclass(frozen=True)
class Workload:
    """The kernel a config was measured on. `key` is its dispatch key (`workload_key`); the
    rest lets a person tell kernels apart and notice when a template's IR changed."""

    key: str
    name: str
    shapes: tuple[tuple[int, ...], ...]
    dtypes: tuple[str, ...]
    ir_hash: str
    default: Config | None = None
    """The template's untuned config (absent from older logs): another config must beat it
    by `DEFAULT_MARGIN` to be chosen."""


@dataclass(frozen=True)
class TargetInfo:
    """The machine a config was measured on, as much of it as decides which config is fast."""

    triple: str
    cpu: str
    features: str
    cores: int

    @staticmethod
    def of(cpu: CpuTargetAttr) -> "TargetInfo":
        """The parts of a #target.cpu a record keeps; its vector width follows from them."""
        return TargetInfo(cpu.triple.data, cpu.cpu.data, cpu.features.data, cpu.cores.data)


@dataclass(frozen=True)
class MeasureResult:
    """What measuring one config gave: a time per run, or why there is none."""

    costs: tuple[float, ...]
    """Seconds per run."""
    error_code: ErrorCode
    error: str
    """The failure's message; "" when there is none."""
    build_seconds: float
    run_seconds: float
    timestamp: float
    """When the measurement finished, in seconds since the epoch."""

    @property
    def median(self) -> float:
        """The median run time; infinite when the config failed, so it never ranks best."""
        if self.error_code != ErrorCode.NO_ERROR or not self.costs:
            return math.inf
        return statistics.median(self.costs)


@dataclass(frozen=True)
class MeasureRecord:
    """One line of a tuning log: a config of a workload measured on a target."""

    workload: Workload
    target: TargetInfo
    config: Config
    trace: str
    """How the schedule was made from the config: replayable with `sched-apply-schedule`."""
    result: MeasureResult
    kernel_hash: str = ""
    """sha256 of the scheduled kernel's printed IR; replaying `trace` on the workload's
    kernel gives IR with this hash ("" when no schedule was made)."""
    version: int = FORMAT_VERSION
    ziggurat_version: str = ZIGGURAT_VERSION
    worker: str = ""
    """The machine or process that measured it, when measuring is spread over several."""


def result_fields(result: MeasureResult) -> dict[str, object]:
    """A measurement's result as the JSON object a record line (and a cluster's answer)
    carries."""
    return {
        "costs": list(result.costs),
        "error_code": int(result.error_code),
        "error": result.error,
        "build_seconds": result.build_seconds,
        "run_seconds": result.run_seconds,
        "timestamp": result.timestamp,
    }


def encode(record: MeasureRecord) -> str:
    """The record as one JSON line (without its newline). Fields come in a fixed order, so
    logs diff and grep well; a knob keeps its JSON type (4, "ij" and true stay distinct)."""
    workload, target, result = record.workload, record.target, record.result
    fields = {
        "version": record.version,
        "workload": {
            "key": workload.key,
            "name": workload.name,
            "shapes": [list(shape) for shape in workload.shapes],
            "dtypes": list(workload.dtypes),
            "ir_hash": workload.ir_hash,
            **({"default": dict(workload.default.entries)} if workload.default else {}),
        },
        "target": {
            "triple": target.triple,
            "cpu": target.cpu,
            "features": target.features,
            "cores": target.cores,
        },
        "config": dict(record.config.entries),
        "result": result_fields(result),
        "trace": record.trace,
        "kernel_hash": record.kernel_hash,
        "ziggurat_version": record.ziggurat_version,
        "worker": record.worker,
    }
    return json.dumps(fields, allow_nan=False)


def decode(text: str) -> MeasureRecord:
    """The record of one log line; TuningLogError says what is wrong with a bad one."""
    try:
        fields = json.loads(text)
    except ValueError:
        raise TuningLogError("not a tuning log line (not JSON)") from None
    return _record_from_json(fields)


class RecordWriter:
    """Appends records to a log, each line flushed and fsynced before `write` returns, so a
    crash loses at most the line being written and another process may read the log at any
    time. Usable as a context manager, which closes the file."""

    def __init__(self, path: StrPath):
        self.path = path
        after_torn_line = _ends_mid_line(path)
        self._stream = open(path, "a", encoding="utf-8")
        if after_torn_line:
            # A run that crashed mid-line left a fragment: end it, so it does not swallow
            # the first record written now.
            self._stream.write("\n")

    def write(self, record: MeasureRecord) -> None:
        self._stream.write(encode(record) + "\n")
        self._stream.flush()
        os.fsync(self._stream.fileno())

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def load_records(path: StrPath) -> list[MeasureRecord]:
    """The records of a log, in file order.

    A last line without its newline that is not JSON was cut off by a crash: it is skipped
    with a warning. Any other line that is not a record of this format version is an error,
    since skipping it would silently drop tuning results.
    """
    try:
        stream = open(path, "rb")
    except OSError as err:
        raise TuningLogError(f"{path}: cannot read the tuning log ({err.strerror})") from None
    records: list[MeasureRecord] = []
    with stream:
        for number, raw in enumerate(stream, start=1):
            line = raw.strip()
            if not line or line.startswith(b"#"):
                continue
            try:
                fields = json.loads(line)
            except ValueError:
                if not raw.endswith(b"\n"):
                    warnings.warn(
                        f"{path}:{number}: skipping the torn last line of the tuning log "
                        "(a run stopped while writing it)",
                        stacklevel=2,
                    )
                    continue
                raise TuningLogError(f"{path}:{number}: not a tuning log line (not JSON)") from None
            try:
                records.append(_record_from_json(fields))
            except TuningLogError as err:
                raise TuningLogError(f"{path}:{number}: {err}") from None
    return records


def best_records(records: Iterable[MeasureRecord]) -> dict[tuple[str, TargetInfo], MeasureRecord]:
    """The fastest successful record per (workload key, target), in order of first appearance.
    A config measured several times counts by the median of its timings (its record with
    that median is kept), so one lucky or unlucky timing does not decide; a config other than
    the workload's default must beat the default by `DEFAULT_MARGIN`; of equally fast
    configs the first is kept."""
    timed: dict[tuple[str, TargetInfo], dict[Config, list[MeasureRecord]]] = {}
    defaults: dict[tuple[str, TargetInfo], Config] = {}
    for record in records:
        if _succeeded(record):
            group = (record.workload.key, record.target)
            timed.setdefault(group, {}).setdefault(record.config, []).append(record)
            if record.workload.default is not None:
                defaults.setdefault(group, record.workload.default)
    best: dict[tuple[str, TargetInfo], MeasureRecord] = {}
    for group, configs in timed.items():
        representatives = {config: _median_record(found) for config, found in configs.items()}
        fastest = min(representatives.values(), key=lambda r: r.result.median)
        default = representatives.get(defaults.get(group, fastest.config), fastest)
        beats = fastest.result.median < default.result.median * (1 - DEFAULT_MARGIN)
        best[group] = fastest if beats else default
    return best


def _median_record(records: list[MeasureRecord]) -> MeasureRecord:
    """Of one config's records, the one with the median timing (the lower of two middles)."""
    ordered = sorted(records, key=lambda r: r.result.median)
    return ordered[(len(ordered) - 1) // 2]


def pick_best(in_path: StrPath, out_path: StrPath) -> int:
    """Writes the best record per (workload, target) of `in_path` into `out_path`, merged with
    what `out_path` holds; returns how many records `out_path` now has."""
    return merge([in_path], out_path)


def merge(in_paths: Iterable[StrPath], out_path: StrPath) -> int:
    """Like `pick_best` over several logs. `out_path` is replaced atomically, so a reader
    never sees it half written and a failure leaves it as it was."""
    existing = load_records(out_path) if os.path.exists(out_path) else []
    records = existing + [record for path in in_paths for record in load_records(path)]
    best = best_records(records)
    _write_atomically(Path(out_path), [encode(record) for record in best.values()])
    return len(best)


def configs_for_target(
    records: Iterable[MeasureRecord], target: TargetInfo
) -> tuple[dict[str, Config], str]:
    """The config to use per workload key on `target`, and a one-line summary of where they
    came from.

    Per workload the records measured on this CPU (same triple, CPU and features) are used if
    there are any, else those of another CPU with the same triple and features, else any
    target's. Among those, records with `target`'s core count come first, then the fastest
    (a config measured several times by its median, as in `best_records`). Only successful
    records count.
    """
    chosen: dict[str, tuple[tuple[int, bool, float], MeasureRecord]] = {}
    for record in best_records(records).values():
        rank = (
            _distance(record.target, target),
            record.target.cores != target.cores,
            record.result.median,
        )
        key = record.workload.key
        if key not in chosen or rank < chosen[key][0]:
            chosen[key] = (rank, record)
    counts = [0, 0, 0]
    for (distance, _, _), _ in chosen.values():
        counts[distance] += 1
    summary = (
        f"tuning records: {counts[0]} kernel{'' if counts[0] == 1 else 's'} from this CPU, "
        f"{counts[1]} from another CPU with the same features, {counts[2]} from other CPUs"
    )
    return {key: record.config for key, (_, record) in chosen.items()}, summary


def _succeeded(record: MeasureRecord) -> bool:
    return math.isfinite(record.result.median)


def _distance(measured_on: TargetInfo, target: TargetInfo) -> int:
    """0 for this CPU, 1 for another CPU with the same ISA, 2 for any other target. Features
    compare as sets: "+avx2,+fma" and "+fma,+avx2" are one ISA."""
    same_features = _feature_set(measured_on.features) == _feature_set(target.features)
    if measured_on.triple != target.triple or not same_features:
        return 2
    return 0 if measured_on.cpu == target.cpu else 1


def _feature_set(features: str) -> frozenset[str]:
    return frozenset(feature for feature in features.split(",") if feature)


def _ends_mid_line(path: StrPath) -> bool:
    """Whether the file's last line lacks its newline (a run crashed while writing it)."""
    try:
        with open(path, "rb") as existing:
            if existing.seek(0, os.SEEK_END) == 0:
                return False
            existing.seek(-1, os.SEEK_END)
            return existing.read(1) != b"\n"
    except FileNotFoundError:
        return False


def _write_atomically(path: Path, lines: list[str]) -> None:
    """Writes through a synced temporary file beside `path`, then renames it over `path`."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.writelines(line + "\n" for line in lines)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


# Reading a line's JSON: every field is checked, and an error names the one that is wrong.

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


@dataclass(frozen=True)
class _Kind(Generic[T_co]):
    """A JSON type a field must have, and its name for an error message."""

    holds: Callable[[object], TypeGuard[T_co]]
    name: str


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> TypeGuard[float]:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


def _is_seconds(value: object) -> TypeGuard[list[float]]:
    return isinstance(value, list) and all(_is_number(cost) and cost >= 0 for cost in value)


def _is_str(value: object) -> TypeGuard[str]:
    return isinstance(value, str)


def _is_strs(value: object) -> TypeGuard[list[str]]:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _is_shapes(value: object) -> TypeGuard[list[list[int]]]:
    return isinstance(value, list) and all(
        isinstance(shape, list) and all(_is_int(size) and size >= 0 for size in shape)
        for shape in value
    )


def _is_object(value: object) -> TypeGuard[dict[str, object]]:
    return isinstance(value, dict)


def _is_error_code(value: object) -> TypeGuard[int]:
    return _is_int(value) and value in {int(code) for code in ErrorCode}


def _is_knob_value(value: object) -> TypeGuard[KnobValue]:
    return isinstance(value, int | str)  # bool is an int


_INTEGER = _Kind(_is_int, "an integer")
_NUMBER = _Kind(_is_number, "a finite number")
_SECONDS = _Kind(_is_seconds, "a list of non-negative numbers")
_STRING = _Kind(_is_str, "a string")
_STRINGS = _Kind(_is_strs, "a list of strings")
_SHAPES = _Kind(_is_shapes, "a list of lists of non-negative integers")
_OBJECT = _Kind(_is_object, "an object")
_ERROR_CODE = _Kind(_is_error_code, f"an error code ({', '.join(str(int(c)) for c in ErrorCode)})")
_KNOB_VALUE = _Kind(_is_knob_value, "an integer, string or boolean")


class _Fields:
    """A JSON object of a log line, read field by field."""

    def __init__(self, fields: dict[str, object], prefix: str = ""):
        self.fields = fields
        self.prefix = prefix

    def get(self, name: str, kind: _Kind[T]) -> T:
        if name not in self.fields:
            raise TuningLogError(f"missing field '{self.prefix}{name}'")
        value = self.fields[name]
        if not kind.holds(value):
            raise TuningLogError(
                f"field '{self.prefix}{name}' must be {kind.name}, got {_shown(value)}"
            )
        return value

    def child(self, name: str) -> "_Fields":
        return _Fields(self.get(name, _OBJECT), f"{self.prefix}{name}.")


def _shown(value: object) -> str:
    """A wrong value for an error message: a scalar as written (cut short), else its kind."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _default_config(workload: _Fields) -> Config | None:
    if "default" not in workload.fields:
        return None
    knobs = workload.child("default")
    return Config.of({knob: knobs.get(knob, _KNOB_VALUE) for knob in knobs.fields})


def _record_from_json(value: object) -> MeasureRecord:
    if not isinstance(value, dict):
        raise TuningLogError("not a tuning log line (JSON, but not an object)")
    line = _Fields(value)
    line_version = line.get("version", _INTEGER)
    if line_version != FORMAT_VERSION:
        raise TuningLogError(
            f"format version {line_version}, this Ziggurat reads version {FORMAT_VERSION}"
        )
    workload, target, knobs, result = (
        line.child(name) for name in ("workload", "target", "config", "result")
    )
    return MeasureRecord(
        workload=Workload(
            key=workload.get("key", _STRING),
            name=workload.get("name", _STRING),
            shapes=tuple(tuple(shape) for shape in workload.get("shapes", _SHAPES)),
            dtypes=tuple(workload.get("dtypes", _STRINGS)),
            ir_hash=workload.get("ir_hash", _STRING),
            default=_default_config(workload),
        ),
        target=TargetInfo(
            triple=target.get("triple", _STRING),
            cpu=target.get("cpu", _STRING),
            features=target.get("features", _STRING),
            cores=target.get("cores", _INTEGER),
        ),
        config=Config.of({knob: knobs.get(knob, _KNOB_VALUE) for knob in knobs.fields}),
        trace=line.get("trace", _STRING),
        result=MeasureResult(
            costs=tuple(float(cost) for cost in result.get("costs", _SECONDS)),
            error_code=ErrorCode(result.get("error_code", _ERROR_CODE)),
            error=result.get("error", _STRING),
            build_seconds=float(result.get("build_seconds", _NUMBER)),
            run_seconds=float(result.get("run_seconds", _NUMBER)),
            timestamp=float(result.get("timestamp", _NUMBER)),
        ),
        kernel_hash=line.get("kernel_hash", _STRING),
        version=line_version,
        ziggurat_version=line.get("ziggurat_version", _STRING),
        worker=line.get("worker", _STRING),
    )
