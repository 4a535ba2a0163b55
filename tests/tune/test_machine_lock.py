"""The machine's measuring lock: a timing excludes builds and other timings, builds share,
and a waiting timing goes before builds that come after it."""

import threading
import time

from ziggurat.tune.machine_lock import MachineLock

PATIENCE = 0.2
"""Seconds a blocked taker is given to show that it stays blocked."""


def _in_thread(action, done: list[str], name: str) -> threading.Thread:
    def run() -> None:
        action()
        done.append(name)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_timing_has_the_machine_alone_and_builds_share_it(tmp_path):
    path = str(tmp_path / "measure.lock")
    timing, build, other_build = MachineLock(path), MachineLock(path), MachineLock(path)
    done: list[str] = []
    timing.own()
    _in_thread(build.share, done, "build")
    time.sleep(PATIENCE)
    assert done == [], "no build beside a timing"
    timing.release()
    _in_thread(other_build.share, done, "other build")
    deadline = time.monotonic() + 5
    while len(done) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sorted(done) == ["build", "other build"], "builds share the machine"


def test_a_waiting_timing_goes_before_later_builds(tmp_path):
    path = str(tmp_path / "measure.lock")
    first_build, timing, later_build = MachineLock(path), MachineLock(path), MachineLock(path)
    done: list[str] = []
    first_build.share()
    waiting = _in_thread(timing.own, done, "timing")
    time.sleep(PATIENCE)
    _in_thread(later_build.share, done, "later build")
    time.sleep(PATIENCE)
    assert done == [], "the timing waits for the build, the later build for the timing"
    first_build.release()
    waiting.join(timeout=5)
    time.sleep(PATIENCE)
    assert done == ["timing"]
    timing.release()
    deadline = time.monotonic() + 5
    while len(done) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert done == ["timing", "later build"]
