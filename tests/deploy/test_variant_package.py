"""A model compiled per input shapes, exported with declared shape profiles: the `.zgt`
serves those variants without the compiler, refuses other shapes or values with one RunError
naming the input and what it holds, and is checked as a version-1 file is."""

import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from deploy_support import run_without_compiler
from models import onnxruntime_outputs

import ziggurat
from benchmarks.models.bert import bert_encoder
from ziggurat.core.errors import CompileError
from ziggurat.runtime import GraphModule, PackageError, RunError, load_module
from ziggurat.runtime.package import _manifest_checksum
from ziggurat.runtime.profiled_module import ProfiledModule

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from test_dynamic_inputs import reshape_model  # noqa: E402

RNG = np.random.default_rng(11)


@pytest.fixture(scope="module")
def encoder_package(tmp_path_factory) -> tuple[Path, object]:
    model = bert_encoder(batch=1, hidden=32, heads=2, layers=1, symbolic_seq=True)
    module, params = ziggurat.from_onnx(model)
    lib = ziggurat.build(module, params=params)
    path = tmp_path_factory.mktemp("profiles") / "encoder.zgt"
    lib.export_library(
        path, shapes=[{"hidden_states": (1, 16, 32)}, {"hidden_states": (1, 40, 32)}]
    )
    return path, model


def test_profiles_run_without_the_compiler(encoder_package, tmp_path: Path) -> None:
    path, model = encoder_package
    for seq in (16, 40):
        inputs = {"hidden_states": RNG.standard_normal((1, seq, 32)).astype(np.float32)}
        outputs, report = run_without_compiler(path, inputs, tmp_path)
        assert report == {"uses_entry": True, "loaded": []}
        np.testing.assert_allclose(
            outputs[0], onnxruntime_outputs(model, inputs)[0], rtol=1e-4, atol=1e-4
        )


def test_a_shape_outside_the_profiles_is_one_run_error(encoder_package) -> None:
    path, _ = encoder_package
    lib = load_module(path)
    assert isinstance(lib, ProfiledModule) and lib.input_names == ["hidden_states"]
    with pytest.raises(RunError) as info:
        lib.run({"hidden_states": np.zeros((1, 17, 32), np.float32)})
    assert str(info.value) == (
        "input 'hidden_states' has shape [1, 17, 32], for which this package holds no variant; "
        "it holds hidden_states shapes [1, 16, 32], [1, 40, 32]"
    )
    runner = GraphModule(lib)
    with pytest.raises(RunError, match="no variant"):
        runner.run(hidden_states=np.zeros((1, 8, 32), np.float32))


def test_values_of_shape_inputs_are_profiles_too(tmp_path: Path) -> None:
    module, _ = ziggurat.from_onnx(reshape_model())
    lib = ziggurat.build(module)
    x = RNG.standard_normal((2, 6)).astype(np.float32)
    lib.run({"x": x, "s": np.array([3, 4])})
    lib.run({"x": x, "s": np.array([12, 1])})
    served = load_module(lib.export_library(tmp_path / "reshape.zgt"))
    assert isinstance(served, ProfiledModule) and len(served.profiles) == 2
    np.testing.assert_array_equal(
        served.run({"x": x, "s": np.array([12, 1])})[0], np.maximum(x, 0).reshape(12, 1)
    )
    with pytest.raises(
        RunError, match=r"input 's' has value \[4, 3\].*s values \[12, 1\], \[3, 4\]"
    ):
        served.run({"x": x, "s": np.array([4, 3])})


def test_profiles_must_be_complete(tmp_path: Path) -> None:
    module, _ = ziggurat.from_onnx(reshape_model())
    lib = ziggurat.build(module)
    with pytest.raises(CompileError, match="no variant is compiled yet"):
        lib.export_library(tmp_path / "none.zgt")
    with pytest.raises(CompileError, match="gives no value for input 's'"):
        lib.export_library(tmp_path / "a.zgt", shapes=[{"x": (2, 6)}])
    with pytest.raises(CompileError, match="gives no shape for input 'x'"):
        lib.export_library(tmp_path / "b.zgt", shapes=[{"s": [3, 4]}])
    with pytest.raises(CompileError, match=r"unknown input\(s\) \['y'\]"):
        lib.export_library(tmp_path / "c.zgt", shapes=[{"y": (1,)}])
    assert not list(tmp_path.iterdir())


def _rewrite(source: Path, target: Path, edit) -> None:
    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(members["manifest.json"])
    edit(members, manifest)
    manifest["checksum"] = _manifest_checksum(manifest)
    members["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(target, "w") as archive:
        archive.comment = b"ziggurat-zgt"
        for name, data in members.items():
            archive.writestr(name, data)


def test_damaged_profile_packages_are_refused(encoder_package, tmp_path: Path) -> None:
    path, _ = encoder_package

    def corrupt_code(members, manifest):
        code = bytearray(members["variant1/model.so"])
        code[len(code) // 2] ^= 0xFF
        members["variant1/model.so"] = bytes(code)

    def add_member(members, manifest):
        members["extra.bin"] = b"x"

    def drop_variant_shape(members, manifest):
        manifest["variants"][0]["shapes"] = {}

    def bad_shape(members, manifest):
        manifest["variants"][0]["shapes"]["hidden_states"] = [1, 40, 32]

    cases = {
        corrupt_code: "variant1/model.so is corrupt",
        add_member: "holds what no .zgt file holds: 'extra.bin'",
        drop_variant_shape: "variant 0 does not give every input's shape",
        bad_shape: r"variant 0 declares input 'hidden_states' of shape \[1, 40, 32\] but its plan",
    }
    for edit, message in cases.items():
        damaged = tmp_path / f"{edit.__name__}.zgt"
        _rewrite(path, damaged, edit)
        with pytest.raises(PackageError, match=message):
            load_module(damaged)
