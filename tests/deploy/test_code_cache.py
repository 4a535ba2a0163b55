"""The persistent code cache: whole builds and kernels served from disk, keys that change
with what decides the code, corrupt and truncated entries rebuilt, the size bound, `off`,
and processes building into one cache at once."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from models import mlp_model

import ziggurat
from ziggurat.backend.code_cache import CodeCache, open_cache
from ziggurat.core.errors import CompileError
from ziggurat.runtime import GraphModule, Module

SIZES = (48, 32, 10)


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("ZIGGURAT_CACHE_DIR", str(folder))
    monkeypatch.delenv("ZIGGURAT_CACHE", raising=False)
    return folder


def _build(batch: int = 2, seed: int = 0, **options: object) -> Module:
    module, params = ziggurat.from_onnx(mlp_model(batch, sizes=SIZES, seed=seed))
    return ziggurat.build(module, params=params, **options)  # type: ignore[arg-type]


def _rows(lib: Module) -> list[str]:
    return [name for name, _ in lib.build_timing.rows]  # type: ignore[attr-defined]


def _outputs(lib: Module, x: np.ndarray) -> np.ndarray:
    runner = GraphModule(lib)
    runner.run(**{lib.input_names[0]: x})
    return runner.get_output(0)


def test_second_build_comes_whole_from_the_cache(cache_dir: Path) -> None:
    x = np.random.default_rng(0).standard_normal((2, SIZES[0])).astype(np.float32)
    cold = _build()
    assert any("0 from cache" in row for row in _rows(cold))
    warm = _build()
    assert _rows(warm) == ["cache lookup", "load"]
    assert warm.keepalive.target_ir is None  # type: ignore[attr-defined]
    np.testing.assert_array_equal(_outputs(warm, x), _outputs(cold, x))
    assert {p.name for p in cache_dir.iterdir()} == {"kernels", "models"}


def test_other_weights_are_another_build_sharing_the_kernels(cache_dir: Path) -> None:
    """Only the kernel with the small bias folded into its code as constants is new."""
    _build(seed=0)
    other = _build(seed=1)
    compiled = next(row for row in _rows(other) if row.startswith("compile units"))
    units = len(other.keepalive.units)  # type: ignore[attr-defined]
    assert f"{units} units, {units - 1} from cache" in compiled


def test_other_target_options_miss(cache_dir: Path) -> None:
    _build()
    rows = _rows(_build(opt_level=2))
    assert "cache lookup" in rows and "plan" in rows


def test_corrupt_and_truncated_entries_are_rebuilt(cache_dir: Path) -> None:
    x = np.ones((2, SIZES[0]), np.float32)
    expected = _outputs(_build(), x)
    entries = sorted(p for p in cache_dir.rglob("*") if p.is_file())
    for n, path in enumerate(entries):
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2] if n % 2 else data[:-1] + bytes([data[-1] ^ 1]))
    rebuilt = _build()
    assert "plan" in _rows(rebuilt)
    np.testing.assert_array_equal(_outputs(rebuilt, x), expected)
    assert _rows(_build()) == ["cache lookup", "load"]


def test_off_writes_nothing(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZIGGURAT_CACHE", "off")
    _build()
    assert not cache_dir.exists()
    assert open_cache() is None


def test_a_bad_size_bound_is_one_clear_error(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZIGGURAT_CACHE_MB", "lots")
    with pytest.raises(CompileError, match="ZIGGURAT_CACHE_MB"):
        open_cache()


def test_least_recently_used_entries_go_first(tmp_path: Path) -> None:
    import os

    cache = CodeCache(tmp_path, limit_bytes=2500)
    for n, key in enumerate(["aa01", "bb02", "cc03"]):
        cache.put("kernels", key, bytes(1000))
        os.utime(cache._path("kernels", key), (n, n))
    assert cache.get("kernels", "aa01") is not None
    cache.evict()
    assert cache.get("kernels", "bb02") is None
    assert cache.get("kernels", "aa01") is not None and cache.get("kernels", "cc03") is not None
    assert cache.stats.evicted == 1 and cache.size_bytes() <= 2500


BUILD_AND_CHECK = """
import numpy as np, sys
sys.path[:0] = sys.argv[1:3]
from models import mlp_model
import ziggurat
from ziggurat.runtime import GraphModule, Module
module, params = ziggurat.from_onnx(mlp_model(2, sizes=(48, 32, 10)))
runner = GraphModule(ziggurat.build(module, params=params))
x = np.ones((2, 48), np.float32)
runner.run(input=x)
print(float(runner.get_output(0).sum()))
"""


def test_processes_building_at_once_share_one_cache(cache_dir: Path) -> None:
    tests = Path(__file__).resolve().parents[1]
    command = [sys.executable, "-c", BUILD_AND_CHECK, str(tests), str(tests.parent)]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert all(run.returncode == 0 for run in runs)
    assert len(set(outputs)) == 1
    assert not [p for p in cache_dir.rglob(".tmp-*")]
