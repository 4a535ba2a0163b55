"""One machine's measuring lock: builds share the machine, a timing has it to itself.

Several measuring processes on one machine (Dask workers, or threads of one worker) build
candidates side by side but must not time while anything else of theirs runs, or each
timing pays for the others' work. A build holds the lock shared, a check-and-time holds it
exclusively. It is an `flock` on a file every process on the machine names alike, so it
holds however many workers a machine runs, and the kernel releases it when a holder dies
(killed at its timeout, or with its worker).

A second file is a turnstile, so a waiting timing is not starved by a stream of builds: a
timing holds the turnstile while it waits for the lock, and a build passes through the
turnstile before taking its share.
"""

import fcntl
import os
import tempfile
from pathlib import Path


def default_lock_path() -> str:
    """The lock file every measuring process of this user on this machine uses."""
    return str(Path(tempfile.gettempdir()) / f"ziggurat-measure-{os.getuid()}.lock")


class MachineLock:
    def __init__(self, path: str):
        self._lock = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self._turnstile = os.open(f"{path}.turnstile", os.O_RDWR | os.O_CREAT, 0o600)

    def share(self) -> None:
        """Blocks until no timing holds or awaits the machine, then holds it shared."""
        fcntl.flock(self._turnstile, fcntl.LOCK_EX)
        try:
            fcntl.flock(self._lock, fcntl.LOCK_SH)
        finally:
            fcntl.flock(self._turnstile, fcntl.LOCK_UN)

    def own(self) -> None:
        """Blocks until nothing else holds the machine, then holds it alone."""
        fcntl.flock(self._turnstile, fcntl.LOCK_EX)
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX)
        finally:
            fcntl.flock(self._turnstile, fcntl.LOCK_UN)

    def release(self) -> None:
        fcntl.flock(self._lock, fcntl.LOCK_UN)
