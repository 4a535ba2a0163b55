"""One machine's measuring lock: a timing has the machine to itself, and builds pause for it.

Several measuring processes on one machine (Dask workers, or threads of one worker) build
candidates side by side but must not time while anything else of theirs runs, or each
timing pays for the others' work. A timing holds an `flock` on a file every process on the
machine names alike, exclusively, so timings take turns and the kernel releases it when a
holder dies (killed at its timeout, or with its worker).

Builds do not hold the lock while they build: a timing does not wait for the builds in
progress to end (on a small machine it would wait for a whole build per candidate, and the
workers would build in lockstep). A building process registers its pid in a folder beside
the lock file instead, and a timing stops every registered builder (SIGSTOP) once it holds
the lock and continues them (SIGCONT) when it is done: no build runs while a candidate is
timed, and none waits longer than the timing. A build starts only between timings (it takes
the lock shared to register). A builder left stopped by a timing that died is continued by
the next timing, or by `wake_orphans`, which its parent calls while it waits for it.
"""

import contextlib
import fcntl
import os
import signal
import tempfile
import time
from pathlib import Path

STOP_WAIT_SECONDS = 0.5
"""How long a timing waits for a builder it signalled to show as stopped."""


def default_lock_path() -> str:
    """The lock file every measuring process of this user on this machine uses."""
    return str(Path(tempfile.gettempdir()) / f"ziggurat-measure-{os.getuid()}.lock")


class MachineLock:
    def __init__(self, path: str):
        self._lock = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self._builders = Path(f"{path}.builders")
        self._builders.mkdir(mode=0o700, exist_ok=True)
        self._registered: Path | None = None
        self._timing = False
        self._stopped: list[int] = []
        """The processes this timing stopped (a builder may end its build and unregister
        between being listed and being stopped: it is continued all the same)."""

    def share(self) -> None:
        """Registers this process as building, once no timing holds the machine."""
        fcntl.flock(self._lock, fcntl.LOCK_SH)
        try:
            entry = self._builders / str(os.getpid())
            entry.write_text(_start_time(os.getpid()))
            self._registered = entry
        finally:
            fcntl.flock(self._lock, fcntl.LOCK_UN)

    def own(self) -> None:
        """Blocks until no other timing holds the machine, then holds it alone: every
        registered build is stopped until `release`."""
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        self._timing = True
        self._stopped = [pid for pid in self._live_builders() if _signal(pid, signal.SIGSTOP)]
        _wait_until_stopped(self._stopped)

    def release(self) -> None:
        """Ends this process's build or timing (a timing continues every registered build,
        those a dead timing left stopped too)."""
        if self._registered is not None:
            with contextlib.suppress(FileNotFoundError):
                self._registered.unlink()
            self._registered = None
        if self._timing:
            self._continue_builders(self._stopped)
            self._stopped = []
            self._timing = False
            fcntl.flock(self._lock, fcntl.LOCK_UN)

    def wake_orphans(self, pids: list[int]) -> None:
        """Continues the registered builds and `pids` (a measurer's own process, which may
        have ended its build since it was stopped) if no timing holds the machine: a timing
        that died between stopping them and continuing them leaves them stopped."""
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return
        try:
            self._continue_builders(pids)
        finally:
            fcntl.flock(self._lock, fcntl.LOCK_UN)

    def close(self) -> None:
        self.release()
        os.close(self._lock)

    def _continue_builders(self, pids: list[int]) -> None:
        for pid in {*pids, *self._live_builders()}:
            _signal(pid, signal.SIGCONT)

    def _live_builders(self) -> list[int]:
        """The registered builders other than this process; entries of processes that
        ended (or whose pid now names another process) are removed."""
        live = []
        for entry in self._builders.iterdir():
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            if pid == os.getpid():
                continue
            with contextlib.suppress(FileNotFoundError):
                if _alive(pid) and entry.read_text() == _start_time(pid):
                    live.append(pid)
                else:
                    entry.unlink()
        return live


def _start_time(pid: int) -> str:
    """When the process started (clock ticks since boot, from /proc), so a reused pid is
    not taken for a builder; "" where /proc is not there."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal(pid: int, sig: signal.Signals) -> bool:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _wait_until_stopped(pids: list[int]) -> None:
    """Waits until each process shows as stopped (`T` in /proc), so none still runs when the
    timing starts; where /proc is not there the signal's delivery is trusted."""
    deadline = time.monotonic() + STOP_WAIT_SECONDS
    waiting = [pid for pid in pids if _state(pid) not in ("T", "")]
    while waiting and time.monotonic() < deadline:
        time.sleep(0.0005)
        waiting = [pid for pid in waiting if _state(pid) not in ("T", "", "Z", "X")]
