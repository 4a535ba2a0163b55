"""The house: each top-level folder is one layer and imports only the layers below it.

LAYERS is the order, bottom first, as the README's layout section shows it; THIRD_PARTY what
each layer may import besides the standard library and Ziggurat's lower layers.
"""

import re
import tomllib
from pathlib import Path

import pytest
from layering import folder_cycles, layer_violations

ROOT = Path(__file__).resolve().parent.parent

LAYERS = (
    "runtime",
    "dialects",
    "core",
    "frontend",
    "schedule",
    "passes",
    "lowering",
    "backend",
    "tune",
    "ziggurat",
)

THIRD_PARTY = {
    "runtime": {"numpy", "ml_dtypes"},
    "dialects": {"numpy", "xdsl"},
    "core": {"numpy", "xdsl", "llvmlite"},
    "frontend": {"numpy", "xdsl", "onnx"},
    "schedule": {"numpy", "xdsl"},
    "passes": {"numpy", "xdsl"},
    "lowering": {"numpy", "xdsl"},
    "backend": {"numpy", "xdsl", "llvmlite"},
    "tune": {"numpy", "xdsl", "xgboost", "tqdm", "llvmlite", "dask", "distributed"},
    "ziggurat": {"numpy", "xdsl", "onnx", "onnxruntime"},
}


def test_every_import_goes_down():
    assert layer_violations(ROOT, LAYERS, THIRD_PARTY) == []


def test_no_cycle_between_folders():
    assert folder_cycles(ROOT, LAYERS) == []


def test_every_package_folder_is_a_layer_or_under_one():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapped = project["package-dir"]
    assert sorted(mapped) == sorted(
        "ziggurat" if layer == "ziggurat" else f"ziggurat.{layer}" for layer in LAYERS
    )
    on_disk = set()
    for layer in LAYERS:
        for init in (ROOT / layer).rglob("__init__.py"):
            parts = init.parent.relative_to(ROOT / layer).parts
            prefix = "ziggurat" if layer == "ziggurat" else f"ziggurat.{layer}"
            on_disk.add(".".join([prefix, *parts]))
    assert sorted(project["packages"]) == sorted(on_disk), "pyproject's packages list is stale"
    top_level = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()} - {
        "tests",
        "benchmarks",
    }
    assert top_level == set(LAYERS)


def test_readme_shows_the_layers_in_order():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Layout", 1)[1].split("```", 2)[1]
    listed = [m.group(1) for m in re.finditer(r"^(\w+)/", section, re.MULTILINE)]
    assert [f for f in listed if f in LAYERS] == list(reversed(LAYERS))


@pytest.fixture
def toy_tree(tmp_path: Path) -> Path:
    """Two layers: `low` below `high`, each a package of one module."""
    for layer in ("low", "high", "ziggurat"):
        (tmp_path / layer).mkdir()
        (tmp_path / layer / "__init__.py").write_text("")
    (tmp_path / "low" / "base.py").write_text("import numpy\n")
    (tmp_path / "high" / "user.py").write_text("from ziggurat.low import base\n")
    return tmp_path


TOY_LAYERS = ("low", "high", "ziggurat")
TOY_THIRD_PARTY = {"low": {"numpy"}}


def test_checker_accepts_a_downward_import(toy_tree: Path):
    assert layer_violations(toy_tree, TOY_LAYERS, TOY_THIRD_PARTY) == []
    assert folder_cycles(toy_tree, TOY_LAYERS) == []


def test_checker_names_an_upward_import(toy_tree: Path):
    (toy_tree / "low" / "base.py").write_text(
        "import numpy\n\n\ndef f():\n    from ..high import user\n"
    )
    assert layer_violations(toy_tree, TOY_LAYERS, TOY_THIRD_PARTY) == [
        "low/base.py:5: layer 'low' imports ziggurat.high of layer 'high', which is above it"
    ]
    assert folder_cycles(toy_tree, TOY_LAYERS) == [
        ["ziggurat.high", "ziggurat.low", "ziggurat.high"]
    ]


def test_checker_names_a_forbidden_package(toy_tree: Path):
    (toy_tree / "high" / "user.py").write_text("import ziggurat.low\nimport xdsl.ir\n")
    assert layer_violations(toy_tree, TOY_LAYERS, TOY_THIRD_PARTY) == [
        "high/user.py:2: layer 'high' may not import 'xdsl'"
    ]


def test_checker_catches_the_api_package_imported_from_below(toy_tree: Path):
    (toy_tree / "low" / "base.py").write_text("import ziggurat\n")
    assert layer_violations(toy_tree, TOY_LAYERS, TOY_THIRD_PARTY) == [
        "low/base.py:1: layer 'low' imports ziggurat of layer 'ziggurat', which is above it"
    ]
