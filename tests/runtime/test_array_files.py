"""Array files from anywhere: headers and zip entries are checked against the bytes there and
the memory limit before numpy allocates, objects are never unpickled, and every failure is a
RuntimeModuleError that names the file."""

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from ziggurat.runtime import ResourceLimitError
from ziggurat.runtime.array_files import ArrayFileError, load_array, load_arrays
from ziggurat.runtime.limits import LIMIT_VARIABLE
from ziggurat.runtime.params import load_params, save_params


def _npy_bytes(array: np.ndarray) -> bytes:
    stream = io.BytesIO()
    np.save(stream, array)
    return stream.getvalue()


def _npy_declaring(shape: tuple[int, ...], data: bytes) -> bytes:
    """An .npy file whose header declares float32 `shape`, followed by `data`."""
    stream = io.BytesIO()
    header = {"descr": "<f4", "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(stream, header)
    return stream.getvalue() + data


def test_arrays_round_trip(tmp_path: Path) -> None:
    arrays = {"a": np.arange(6, dtype=np.int64).reshape(2, 3), "b": np.asfortranarray(np.eye(3))}
    np.savez(tmp_path / "x.npz", **arrays)
    loaded = load_arrays(tmp_path / "x.npz", "x.npz")
    assert set(loaded) == {"a", "b"}
    for name, array in arrays.items():
        np.testing.assert_array_equal(loaded[name], array)
    np.save(tmp_path / "a.npy", arrays["a"])
    single = load_array(tmp_path / "a.npy")
    np.testing.assert_array_equal(single, arrays["a"])
    single[0, 0] = 7  # inputs come back writable


def test_a_header_declaring_2_to_the_40_elements_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.npy"
    path.write_bytes(_npy_declaring((1 << 20, 1 << 20), b"\0" * 64))
    with pytest.raises(ArrayFileError, match=r"huge.npy declares float32\[1048576, 1048576\]"):
        load_array(path)


def test_a_truncated_array_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "short.npy"
    path.write_bytes(_npy_bytes(np.ones(100, np.float32))[:-4])
    with pytest.raises(ArrayFileError, match="truncated or corrupt"):
        load_array(path)


def test_an_array_over_the_limit_is_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.npy"
    np.save(path, np.zeros(4096, np.float32))
    monkeypatch.setenv(LIMIT_VARIABLE, "1K")
    with pytest.raises(ResourceLimitError, match="big.npy would take 16,384 bytes"):
        load_array(path)


def test_objects_are_never_unpickled(tmp_path: Path) -> None:
    path = tmp_path / "objects.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ArrayFileError, match="Python objects"):
        load_array(path)


def test_a_member_that_inflates_past_the_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("w.npy", _npy_bytes(np.zeros(4 << 20, np.float32)))
    assert path.stat().st_size < 100_000
    monkeypatch.setenv(LIMIT_VARIABLE, "1M")
    with pytest.raises(ResourceLimitError, match=r"bomb.npz would take 16.0 MiB .*'w.npy'"):
        load_arrays(path, str(path))


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],
        lambda data: b"PK\x03\x04" + bytes(40),
        lambda data: data.replace(b"<f4", b"|O8"),
    ],
    ids=["truncated", "garbage", "object-dtype"],
)
def test_damaged_params_files_are_refused(tmp_path: Path, damage) -> None:
    stream = io.BytesIO()
    save_params(stream, {"w": np.ones((4, 4), np.float32)})
    path = tmp_path / "p.npz"
    path.write_bytes(damage(stream.getvalue()))
    with pytest.raises(ArrayFileError, match="p.npz"):
        load_params(path)


def test_a_params_file_with_a_bad_names_list_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.npz"
    names = np.frombuffer(b'{"not": "a list"}', dtype=np.uint8)
    np.savez(path, p0=np.ones(2, np.float32), __names__=names)
    with pytest.raises(ArrayFileError, match="corrupt list of param names"):
        load_params(path)


def test_a_params_file_naming_more_arrays_than_it_holds_says_so(tmp_path: Path) -> None:
    path = tmp_path / "p.npz"
    names = np.frombuffer(b'["w", "b"]', dtype=np.uint8)
    np.savez(path, p0=np.ones(2, np.float32), __names__=names)
    with pytest.raises(ArrayFileError, match="names 2 arrays but holds 1"):
        load_params(path)


def _one_member_zip_without_a_name(data: bytes) -> bytes:
    """A stored zip of one member whose name is empty (zipfile cannot write one): the name
    `q` is cut from the local and the central header and the offsets moved to match."""
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w") as archive:
        archive.writestr("q", data)
    raw = bytearray(stream.getvalue())
    central = raw.index(b"PK\x01\x02")
    end = raw.index(b"PK\x05\x06")
    assert raw[30:31] == b"q" and raw[central + 46 : central + 47] == b"q"
    del raw[central + 46]
    raw[central + 28 : central + 30] = (0).to_bytes(2, "little")
    del raw[30]
    raw[26:28] = (0).to_bytes(2, "little")
    end -= 2
    size = int.from_bytes(raw[end + 12 : end + 16], "little") - 1
    raw[end + 12 : end + 16] = size.to_bytes(4, "little")
    raw[end + 16 : end + 20] = (central - 1).to_bytes(4, "little")
    return bytes(raw)


def test_a_member_without_a_name_is_read_as_any_other(tmp_path: Path) -> None:
    path = tmp_path / "unnamed.npz"
    path.write_bytes(_one_member_zip_without_a_name(_npy_bytes(np.arange(3, dtype=np.int32))))
    loaded = load_arrays(path, "unnamed.npz")
    np.testing.assert_array_equal(loaded[""], [0, 1, 2])
