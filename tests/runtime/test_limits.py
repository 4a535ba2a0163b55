"""The memory limit: plans whose buffers would not fit are refused before anything is
allocated, naming the largest tensors, at build, at load and for hand-made plans."""

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ziggurat.runtime import Module, PlanError, ResourceLimitError, load_module
from ziggurat.runtime.limits import LIMIT_VARIABLE, memory_limit, parse_bytes
from ziggurat.runtime.package import write_package


@pytest.mark.parametrize(
    ("text", "expected"),
    [("4096", 4096), ("512M", 512 << 20), ("8g", 8 << 30), ("1.5K", 1536), ("2TB", 2 << 40)],
)
def test_sizes_parse(text: str, expected: int) -> None:
    assert parse_bytes(text) == expected


@pytest.mark.parametrize("text", ["", "lots", "-1G", "0", "nan", "G"])
def test_bad_sizes_are_refused(text: str) -> None:
    with pytest.raises(ResourceLimitError, match="is not a size"):
        parse_bytes(text)


def test_default_limit_is_the_available_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LIMIT_VARIABLE, raising=False)
    limit = memory_limit()
    assert limit is None or limit > 1 << 20
    monkeypatch.setenv(LIMIT_VARIABLE, "3M")
    assert memory_limit() == 3 << 20


def test_a_tensor_of_2_to_the_40_is_refused_by_name(make_lib: Callable[..., Module], plan) -> None:
    buffers = [dict(b) for b in plan["buffers"]]
    buffers[2] = {**buffers[2], "shape": [1 << 20, 1 << 20]}
    with pytest.raises(ResourceLimitError, match=r"intermediate 't0' float32\[1048576, 1048576\]"):
        make_lib(buffers=buffers)


def test_a_configured_limit_refuses_a_small_model(
    make_lib: Callable[..., Module], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LIMIT_VARIABLE, "100")
    with pytest.raises(ResourceLimitError, match="the limit is 100 bytes"):
        make_lib()
    monkeypatch.setenv(LIMIT_VARIABLE, "1M")
    make_lib()


def test_loading_a_package_over_the_limit_is_refused(
    tmp_path: Path, plan, params, shared_object: bytes, host_target, monkeypatch
) -> None:
    path = write_package(tmp_path / "m.zgt", plan, params, shared_object, host_target)
    monkeypatch.setenv(LIMIT_VARIABLE, "64")
    with pytest.raises(ResourceLimitError, match=r"m.zgt would take .*largest: 'model.so'"):
        load_module(path)
    monkeypatch.setenv(LIMIT_VARIABLE, "1M")
    assert np.array_equal(load_module(path).params[next(iter(params))], next(iter(params.values())))


def test_a_package_whose_plan_is_over_the_limit_names_the_tensor(
    tmp_path: Path, plan, params, shared_object: bytes, host_target
) -> None:
    huge = {**plan, "buffers": [dict(b) for b in plan["buffers"]]}
    huge["buffers"][2]["shape"] = [1 << 20, 1 << 20]
    path = write_package(tmp_path / "m.zgt", huge, params, shared_object, host_target)
    with pytest.raises(ResourceLimitError, match=r"intermediate 't0' float32\[1048576, 1048576\]"):
        load_module(path)


def test_a_planned_dim_past_int64_is_refused_not_wrapped(
    make_lib: Callable[..., Module], plan
) -> None:
    buffers = [dict(b) for b in plan["buffers"]]
    buffers[2] = {**buffers[2], "shape": [1 << 63], "offset": 0}
    with pytest.raises(PlanError, match=r"buffer 2 \('t0'\) ends at byte \d+, past the"):
        make_lib(buffers=buffers, arena_bytes=128)
