"""The .zgt file: a round trip through load_module, and every way a file can be bad."""

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ziggurat.runtime import (
    GraphModule,
    HostMismatchError,
    LinkError,
    PackageError,
    ResourceLimitError,
    load_module,
)
from ziggurat.runtime.host import X86_FLAGS, architecture, cpu_flags, missing_features
from ziggurat.runtime.linker import link_shared_object
from ziggurat.runtime.package import (
    COMMENT,
    MANIFEST,
    _manifest_checksum,
    read_package,
    write_package,
)

Arrays = dict[str, np.ndarray]


@pytest.fixture
def package(tmp_path: Path, plan, params: Arrays, shared_object: bytes, host_target) -> Path:
    return write_package(tmp_path / "model.zgt", plan, params, shared_object, host_target)


def _rewrite(path: Path, edit) -> None:
    """Rewrites the archive with `edit(name, data) -> data` applied to every member."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    with zipfile.ZipFile(path, "w") as archive:
        archive.comment = COMMENT
        for name, data in members.items():
            archive.writestr(name, edit(name, data))


def _edit_manifest(change) -> Any:
    def edit(name: str, data: bytes) -> bytes:
        if name != MANIFEST:
            return data
        manifest = json.loads(data)
        change(manifest)
        return json.dumps(manifest).encode()

    return edit


def test_round_trip_runs_on_the_entry(package: Path, inputs: Arrays, expected) -> None:
    lib = load_module(package)
    assert lib.plan["entry"] == "__ziggurat_main" and lib.target == "llvm"
    for use_entry in (None, False):
        runner = GraphModule(lib, use_entry=use_entry)
        assert runner.uses_entry is (use_entry is None)
        runner.run(**inputs)
        np.testing.assert_array_equal(runner.get_output("relu"), expected[0])
        np.testing.assert_array_equal(runner.get_output("sum"), expected[1])


def test_loaded_module_exports_again(package: Path, tmp_path: Path, inputs: Arrays, expected):
    copy = load_module(package).export_library(tmp_path / "again.zgt")
    assert read_package(copy).shared_object == read_package(package).shared_object
    runner = GraphModule(load_module(copy))
    runner.run(**inputs)
    np.testing.assert_array_equal(runner.get_output(1), expected[1])


def test_write_leaves_no_temporary_files(package: Path) -> None:
    assert [p.name for p in package.parent.iterdir()] == ["model.zgt"]


def test_missing_function_is_a_plan_error(tmp_path: Path, plan, params, shared_object, host_target):
    plan["launches"][0]["kernel"] = "absent"
    path = write_package(tmp_path / "m.zgt", plan, params, shared_object, host_target)
    with pytest.raises(Exception, match="the compiled code has no function 'absent'"):
        GraphModule(load_module(path), use_entry=False)


def test_truncated_file(package: Path) -> None:
    data = package.read_bytes()
    for size in (0, 10, len(data) // 2, len(data) - 10):
        package.write_bytes(data[:size])
        with pytest.raises(PackageError, match=r"not a complete \.zgt file \(truncated or corrupt"):
            load_module(package)


def test_corrupt_bytes(package: Path) -> None:
    data = bytearray(package.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 16] = bytes(b ^ 0xFF for b in data[middle : middle + 16])
    package.write_bytes(bytes(data))
    with pytest.raises(PackageError, match="truncated or corrupt|fails its checksum"):
        load_module(package)


@pytest.mark.parametrize("member", ["plan.json", "params.npz", "model.so"])
def test_member_checksum_mismatch(package: Path, member: str) -> None:
    _rewrite(package, lambda name, data: data + b" " if name == member else data)
    with pytest.raises(PackageError, match=f"fails its checksum: {member} is corrupt"):
        load_module(package)


def test_manifest_checksum_mismatch(package: Path) -> None:
    _rewrite(package, _edit_manifest(lambda m: m["target"].update(cpu="other")))
    with pytest.raises(PackageError, match="fails its checksum .the manifest was altered"):
        load_module(package)


@pytest.mark.parametrize(
    "key, value, expected",
    [("features", None, "a list of strings"), ("features", [1], "a list of strings"),
     ("cpu", 0, "a string"), ("triple", ["x86_64"], "a string")],
)  # fmt: skip
def test_re_signed_manifest_with_a_malformed_target(
    package: Path, key: str, value: object, expected: str
) -> None:
    """Found by tests/fuzz: `"features": null` with the checksum recomputed was a TypeError
    in the host check."""

    def change(manifest: dict) -> None:
        manifest["target"][key] = value
        manifest["checksum"] = _manifest_checksum(manifest)

    _rewrite(package, _edit_manifest(change))
    with pytest.raises(PackageError, match=f"target '{key}' is .*, not {expected}"):
        load_module(package)


def test_version_mismatch(package: Path) -> None:
    _rewrite(package, _edit_manifest(lambda m: m.update(format_version=3)))
    with pytest.raises(PackageError, match="format version 3, but this runtime reads version 1"):
        load_module(package)


@pytest.mark.parametrize(
    "contents, message",
    [
        ({"plan.json": b"{}"}, "lacks manifest.json, params.npz, model.so"),
        ({MANIFEST: b"not json", "plan.json": b"", "params.npz": b"", "model.so": b""},
         "corrupt manifest"),
        ({MANIFEST: b"{}", "plan.json": b"", "params.npz": b"", "model.so": b""},
         "is not a .zgt file .its manifest names no ziggurat-zgt format"),
    ],
)  # fmt: skip
def test_not_a_package(tmp_path: Path, contents: dict[str, bytes], message: str) -> None:
    path = tmp_path / "other.zgt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.comment = COMMENT
        for name, data in contents.items():
            archive.writestr(name, data)
    with pytest.raises(PackageError, match=message):
        load_module(path)


def test_other_zip_archive(tmp_path: Path) -> None:
    path = tmp_path / "weights.zgt"
    with path.open("wb") as stream:
        np.savez(stream, w=np.ones(3))
    with pytest.raises(PackageError, match="not a complete .zgt file"):
        load_module(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PackageError, match="cannot read .*absent.zgt: No such file"):
        load_module(tmp_path / "absent.zgt")


def test_invalid_plan_inside(tmp_path: Path, plan, params, shared_object, host_target) -> None:
    plan["inputs"] = [0]
    path = write_package(tmp_path / "m.zgt", plan, params, shared_object, host_target)
    with pytest.raises(PackageError, match="holds a plan the runtime cannot run: input buffers"):
        load_module(path)


def test_other_architecture(tmp_path: Path, plan, params, shared_object, host_target) -> None:
    foreign = (
        "x86_64-unknown-linux-gnu" if architecture_here() == "aarch64" else "aarch64-linux-gnu"
    )
    target = {**host_target, "triple": foreign}
    path = write_package(tmp_path / "m.zgt", plan, params, shared_object, target)
    with pytest.raises(HostMismatchError, match=f"compiled for {foreign}; this machine is"):
        load_module(path)


def architecture_here() -> str:
    import platform

    return architecture(platform.machine())


def test_feature_this_machine_lacks(tmp_path: Path, plan, params, shared_object, host_target):
    flags = cpu_flags()
    lacking = [f for f, flag in X86_FLAGS.items() if flags is not None and flag not in flags]
    if architecture_here() != "x86_64" or not lacking:
        pytest.skip("needs an x86-64 host that lacks one of the checked features")
    target = {**host_target, "features": ["sse2", lacking[0]]}
    path = write_package(tmp_path / "m.zgt", plan, params, shared_object, target)
    with pytest.raises(HostMismatchError, match=f"CPU features this machine lacks: {lacking[0]} "):
        load_module(path)


def test_missing_features_maps_llvm_names_to_cpu_flags() -> None:
    flags = frozenset({"sse4_1", "pni", "avx512f", "avx512_vnni"})
    wanted = ["sse4.1", "sse3", "avx512f", "avx512vnni", "avx2", "rdseed", "sse4.2"]
    assert missing_features(wanted, "x86_64", flags) == ["avx2", "sse4.2"]
    assert missing_features(["neon", "sve"], "aarch64", frozenset({"asimd"})) == ["sve"]
    assert missing_features(["avx2"], "x86_64", None) == []


def test_no_linker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CC", "no-such-compiler-here")
    with pytest.raises(LinkError, match="the linker 'no-such-compiler-here' is not on PATH"):
        link_shared_object(b"")
    monkeypatch.delenv("CC")
    monkeypatch.setenv("PATH", "")
    with pytest.raises(LinkError, match="none of cc, gcc, clang is on PATH: install gcc or clang"):
        link_shared_object(b"")


def test_link_failure_names_the_linker() -> None:
    with pytest.raises(LinkError, match="could not link the shared object"):
        link_shared_object(b"not an object file")


def test_a_member_that_inflates_past_the_limit_is_refused_unread(
    package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with zipfile.ZipFile(package) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["model.so"] = bytes(64 << 20)
    with zipfile.ZipFile(package, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.comment = COMMENT
        for name, data in members.items():
            archive.writestr(name, data)
    assert package.stat().st_size < 1 << 20
    monkeypatch.setenv("ZIGGURAT_MEMORY_LIMIT", "8M")
    with pytest.raises(ResourceLimitError, match=r"model.zgt would take 64.0 MiB .*'model.so'"):
        read_package(package)


def test_members_outside_the_format_are_never_extracted(package: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(package, "a") as archive:
        archive.writestr("../escaped.txt", b"outside")
        archive.writestr("/abs.txt", b"outside")
    with pytest.raises(PackageError):
        load_module(package)
    assert not (tmp_path.parent / "escaped.txt").exists() and not Path("/abs.txt").exists()
