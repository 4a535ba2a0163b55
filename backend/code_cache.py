"""The persistent code cache: compiled kernels, and whole builds, kept on disk between
processes.

Where: `$ZIGGURAT_CACHE_DIR`, else `$XDG_CACHE_HOME/ziggurat`, else `~/.cache/ziggurat`;
`ZIGGURAT_CACHE=off` turns it off, `ZIGGURAT_CACHE_MB` bounds it (default 1024 MB). An entry
is one file named by the sha256 of everything that decides its contents (the key material
includes `compiler_fingerprint()`, so a changed compiler never reads old code). Entries are
written to a temporary file and renamed into place, so processes building at once never see
half an entry; each ends in the sha256 of its payload, so a corrupt or truncated entry reads
as a miss and is rebuilt. A hit touches the entry's mtime; when the cache outgrows its bound
the least recently used entries go first.
"""

import contextlib
import hashlib
import importlib.util
import os
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import llvmlite
import llvmlite.binding as llvm

from ziggurat.core.errors import CompileError

DEFAULT_LIMIT_MB = 1024
DIGEST_BYTES = 32
COMPILER_PACKAGES = (
    "ziggurat",
    "ziggurat.runtime",
    "ziggurat.dialects",
    "ziggurat.core",
    "ziggurat.frontend",
    "ziggurat.schedule",
    "ziggurat.passes",
    "ziggurat.lowering",
    "ziggurat.backend",
)


@cache
def compiler_fingerprint() -> str:
    """sha256 over the compiler's own source files, xDSL's, llvmlite's and LLVM's versions:
    any edit to the compiler makes every key new."""
    digest = hashlib.sha256()
    import xdsl

    digest.update(f"xdsl {xdsl.__version__} llvmlite {llvmlite.__version__}".encode())
    digest.update(f" llvm {llvm.llvm_version_info}".encode())
    for package in COMPILER_PACKAGES:
        spec = importlib.util.find_spec(package)
        for location in (spec.submodule_search_locations or []) if spec else []:
            for source in sorted(Path(location).rglob("*.py")):
                digest.update(str(source.relative_to(location)).encode())
                digest.update(source.read_bytes())
    return digest.hexdigest()


def cache_key(*parts: str | bytes) -> str:
    """The sha256 naming an entry: the compiler's fingerprint and the given key material."""
    digest = hashlib.sha256(compiler_fingerprint().encode())
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def default_directory() -> Path:
    if os.environ.get("ZIGGURAT_CACHE_DIR"):
        return Path(os.environ["ZIGGURAT_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ziggurat"


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    corrupt: int = 0
    evicted: int = 0


_written_since_scan: dict[Path, int] = {}
"""Bytes this process stored per cache directory since it last measured the cache."""


@dataclass
class CodeCache:
    """A directory of entries (bytes by key), bounded by `limit_bytes`."""

    directory: Path
    limit_bytes: int = DEFAULT_LIMIT_MB << 20
    stats: CacheStats = field(default_factory=CacheStats)

    def _path(self, kind: str, key: str) -> Path:
        return self.directory / kind / key[:2] / key

    def get(self, kind: str, key: str) -> bytes | None:
        path = self._path(kind, key)
        try:
            data = path.read_bytes()
        except OSError:
            self.stats.misses += 1
            return None
        payload, digest = data[:-DIGEST_BYTES], data[-DIGEST_BYTES:]
        if len(data) < DIGEST_BYTES or hashlib.sha256(payload).digest() != digest:
            self.stats.corrupt += 1
            self.stats.misses += 1
            path.unlink(missing_ok=True)
            return None
        self.stats.hits += 1
        with contextlib.suppress(OSError):
            os.utime(path)
        return payload

    def put(self, kind: str, key: str, payload: bytes) -> None:
        """Stores an entry atomically; a cache that cannot be written is left alone (a build
        never fails for its cache)."""
        path = self._path(kind, key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
            with os.fdopen(handle, "wb") as stream:
                stream.write(payload)
                stream.write(hashlib.sha256(payload).digest())
            os.replace(temporary, path)
        except OSError:
            return
        written = _written_since_scan.get(self.directory, 0)
        _written_since_scan[self.directory] = written + len(payload) + DIGEST_BYTES

    def entries(self) -> list[tuple[float, int, Path]]:
        """(last use, bytes, path) of every entry."""
        found = []
        for path in self.directory.glob("*/??/*"):
            if path.name.startswith(".tmp-"):
                continue
            try:
                status = path.stat()
            except OSError:
                continue
            found.append((status.st_mtime, status.st_size, path))
        return found

    def size_bytes(self) -> int:
        return sum(size for _, size, _ in self.entries())

    def evict(self) -> None:
        """Removes least recently used entries until the cache is within its bound. A build
        calls it after writing its entries; the directory is measured on a process's first
        call and then again only once another sixteenth of the bound has been written, so a
        tuner's thousands of small builds do not each list the cache."""
        written = _written_since_scan.get(self.directory)
        if written is not None and written < self.limit_bytes // 16:
            return
        _written_since_scan[self.directory] = 0
        entries = self.entries()
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total <= self.limit_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
            self.stats.evicted += 1

    def clear(self) -> None:
        for _, _, path in self.entries():
            path.unlink(missing_ok=True)


def open_cache() -> CodeCache | None:
    """The cache the environment asks for, or None when `ZIGGURAT_CACHE=off`."""
    if os.environ.get("ZIGGURAT_CACHE", "").lower() in ("off", "0", "no", "false"):
        return None
    text = os.environ.get("ZIGGURAT_CACHE_MB", str(DEFAULT_LIMIT_MB))
    if not text.isdigit():
        raise CompileError(f"ZIGGURAT_CACHE_MB must be a whole number of megabytes, got {text!r}")
    return CodeCache(default_directory(), int(text) << 20)
