"""The machine's measuring lock: a timing stops the builds in progress and continues them
after, no build starts during a timing, timings take turns, and builds a dead timing left
stopped are continued."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ziggurat.tune.machine_lock import MachineLock

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")

PATIENCE = 0.2
"""Seconds a blocked taker is given to show that it stays blocked."""

BUILDER = """
import sys, time
from ziggurat.tune.machine_lock import MachineLock
lock = MachineLock(sys.argv[1])
lock.share()
print("building", flush=True)
while True:
    sum(range(10000))
"""

TIMER = """
import sys, time
from ziggurat.tune.machine_lock import MachineLock
lock = MachineLock(sys.argv[1])
lock.own()
print("timing", flush=True)
time.sleep(3600)
"""


def _start(source: str, path: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", source, path], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    process.stdout.readline()
    return process


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def _wait_for_state(pid: int, running: bool) -> str:
    deadline = time.monotonic() + 5
    state = _state(pid)
    while (state == "T") == running and time.monotonic() < deadline:
        time.sleep(0.01)
        state = _state(pid)
    return state


def _in_thread(action, done: list[str], name: str) -> threading.Thread:
    def run() -> None:
        action()
        done.append(name)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_timing_stops_the_builds_in_progress_and_continues_them(tmp_path):
    path = str(tmp_path / "measure.lock")
    builder = _start(BUILDER, path)
    try:
        timing = MachineLock(path)
        timing.own()
        assert _state(builder.pid) == "T", "no build runs beside a timing"
        timing.release()
        assert _wait_for_state(builder.pid, running=True) != "T", "the build goes on after"
    finally:
        builder.kill()
        builder.wait()


def test_a_build_that_ended_after_being_stopped_is_continued_all_the_same(tmp_path):
    """A builder listed by a timing may end its build (and unregister) before the signal
    lands: the timing continues what it stopped, registered or not."""
    path = str(tmp_path / "measure.lock")
    builder = _start(BUILDER, path)
    try:
        timing = MachineLock(path)
        timing.own()
        (Path(f"{path}.builders") / str(builder.pid)).unlink()
        timing.release()
        assert _wait_for_state(builder.pid, running=True) != "T"
    finally:
        builder.kill()
        builder.wait()


def test_no_build_starts_during_a_timing_and_timings_take_turns(tmp_path):
    path = str(tmp_path / "measure.lock")
    timing, build, other_timing = MachineLock(path), MachineLock(path), MachineLock(path)
    done: list[str] = []
    timing.own()
    _in_thread(build.share, done, "build")
    _in_thread(other_timing.own, done, "other timing")
    time.sleep(PATIENCE)
    assert done == [], "the build and the other timing wait for the timing"
    timing.release()
    deadline = time.monotonic() + 5
    while len(done) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sorted(done) == ["build", "other timing"], "both go on once the timing ends"


def test_builds_a_dead_timing_left_stopped_are_woken(tmp_path):
    path = str(tmp_path / "measure.lock")
    builder = _start(BUILDER, path)
    try:
        timer = _start(TIMER, path)
        assert _wait_for_state(builder.pid, running=False) == "T"
        timer.send_signal(signal.SIGKILL)
        timer.wait()
        assert _state(builder.pid) == "T", "nothing continued it yet"
        MachineLock(path).wake_orphans([])
        assert _wait_for_state(builder.pid, running=True) != "T", "registered: woken"
        timer = _start(TIMER, path)
        assert _wait_for_state(builder.pid, running=False) == "T"
        timer.send_signal(signal.SIGKILL)
        timer.wait()
        (Path(f"{path}.builders") / str(builder.pid)).unlink()
        MachineLock(path).wake_orphans([builder.pid])
        assert _wait_for_state(builder.pid, running=True) != "T", "named by its parent: woken"
    finally:
        builder.kill()
        builder.wait()


def test_entries_of_ended_builds_are_dropped(tmp_path):
    path = str(tmp_path / "measure.lock")
    builder = _start(BUILDER, path)
    builder.kill()
    builder.wait()
    folder = Path(f"{path}.builders")
    assert [entry.name for entry in folder.iterdir()] == [str(builder.pid)]
    timing = MachineLock(path)
    timing.own()
    timing.release()
    assert list(folder.iterdir()) == []


def test_a_build_that_ends_leaves_no_entry(tmp_path):
    path = str(tmp_path / "measure.lock")
    build = MachineLock(path)
    build.share()
    assert [entry.name for entry in Path(f"{path}.builders").iterdir()] == [str(os.getpid())]
    build.release()
    assert list(Path(f"{path}.builders").iterdir()) == []
