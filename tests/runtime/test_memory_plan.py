"""The memory plan as the runtime takes it: intermediates as views into one arena, and the
checks that refuse offsets that would let live buffers overlap."""

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from ziggurat.runtime import GraphModule, Module, PlanError
from ziggurat.runtime.memory import live_ranges, memory_report

BYTES = 2 * 8 * 4  # one [2, 8] float32 buffer


def _planned(plan: dict[str, Any], offset: int, arena: int = 128) -> dict[str, Any]:
    plan["buffers"][2]["offset"] = offset
    plan["arena_bytes"] = arena
    return plan


def test_live_ranges_are_inclusive() -> None:
    launches = [{"args": [0, 1, 2]}, {"args": [2, 3]}, {"args": [3, 4, 5]}]
    assert live_ranges(launches) == {0: (0, 0), 1: (0, 0), 2: (0, 1), 3: (1, 2), 4: (2, 2),
                                     5: (2, 2)}  # fmt: skip


def test_intermediate_lives_in_the_arena(
    plan, params, symbols, inputs, expected: tuple[np.ndarray, np.ndarray]
) -> None:
    lib = Module(_planned(plan, 64), params, symbols)
    runner = GraphModule(lib)
    arena = runner._context.arena.ctypes.data
    assert runner.buffer_addresses()[2] == arena + 64 and arena % 64 == 0
    runner.run(**inputs)
    np.testing.assert_array_equal(runner.get_output("sum"), expected[1])
    report = lib.memory_report()
    assert (report.planned_bytes, report.naive_bytes, report.intermediates) == (128, BYTES, 1)
    assert "1 buffers" in str(report)


def test_two_modules_have_their_own_arena(plan, params, symbols) -> None:
    lib = Module(_planned(plan, 0), params, symbols)
    first, second = GraphModule(lib), GraphModule(lib)
    assert first.buffer_addresses()[2] != second.buffer_addresses()[2]


def _two_intermediates(plan: dict[str, Any]) -> dict[str, Any]:
    """x + bias -> t0; relu(t0) -> t1; t1 + y -> sum, with the relu output made internal:
    t0 and t1 are both live in launch 1, so they must not overlap."""
    plan["buffers"][3] = {"name": "t1", "kind": "intermediate", "shape": [2, 8],
                          "dtype": "float32"}  # fmt: skip
    plan["outputs"] = [5]
    plan["arena_bytes"] = 2 * BYTES
    return plan


def test_buffers_live_at_once_must_not_overlap(plan, params, symbols) -> None:
    plan = _two_intermediates(plan)
    plan["buffers"][2]["offset"] = 0
    plan["buffers"][3]["offset"] = 0
    with pytest.raises(PlanError, match="'t0' and 't1' share arena bytes while both are live"):
        Module(plan, params, symbols)
    plan["buffers"][3]["offset"] = BYTES
    Module(plan, params, symbols)


def test_buffers_live_apart_may_share(plan, params, symbols) -> None:
    plan = _two_intermediates(plan)
    plan["launches"] = [
        {"kernel": "add", "args": [0, 1, 2]},
        {"kernel": "relu", "args": [2, 5]},
        {"kernel": "relu", "args": [5, 3]},
    ]
    plan["buffers"][2]["offset"] = plan["buffers"][3]["offset"] = 0
    Module(plan, params, symbols)


def _edit(**fields: Any) -> Callable[[dict[str, Any]], None]:
    def edit(plan: dict[str, Any]) -> None:
        for key, value in fields.items():
            if key == "arena_bytes":
                plan["arena_bytes"] = value
            else:
                plan["buffers"][int(key[1:])]["offset"] = value

    return edit


@pytest.mark.parametrize(
    "edit, message",
    [
        (_edit(b2=0, arena_bytes=-1), "arena_bytes is -1"),
        (_edit(b2=0, arena_bytes="64"), "arena_bytes is '64'"),
        (_edit(b2=0), "arena_bytes is None"),
        (_edit(b2=32, arena_bytes=128), "offset 32, not a multiple of 64"),
        (_edit(b2=-64, arena_bytes=128), "has offset -64"),
        (_edit(b2=True, arena_bytes=128), "has offset True"),
        (_edit(b2=64, arena_bytes=96), "ends at byte 128, past the 96-byte arena"),
        (_edit(b3=0, arena_bytes=128), "of kind 'output' has an arena offset"),
    ],
)
def test_bad_offsets(plan, params, symbols, edit, message: str) -> None:
    edit(plan)
    with pytest.raises(PlanError, match=message):
        Module(plan, params, symbols)


def test_report_without_a_plan_counts_each_buffer(plan) -> None:
    report = memory_report(plan)
    assert report.planned_bytes == report.naive_bytes == BYTES and report.saving == 0
    assert report.param_bytes == BYTES and report.io_bytes == 4 * BYTES


def test_unplaced_intermediates_count_as_planned(make_lib) -> None:
    assert make_lib(arena_bytes=0).memory_report().planned_bytes == BYTES
