"""Every pass of Ziggurat's own has what docs/guide.md's checklist asks for: its registry
entry resolving to a documented ModulePass of that name, its lit file, and its README row
with the options it takes."""

import dataclasses
import re
import sys
from pathlib import Path

import pytest

from ziggurat.core.registry import OWN_PASSES

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _readme_options(name: str) -> list[str] | None:
    """The options the README's pass table lists for `name`; None when it has no row."""
    row = re.search(rf"^\| `{re.escape(name)}(?:\{{([^}}]*)\}})?` \|", README, re.MULTILINE)
    if row is None:
        return None
    return row.group(1).split() if row.group(1) else []


@pytest.mark.parametrize("name", sorted(OWN_PASSES))
def test_pass_has_its_checklist(name: str):
    cls = OWN_PASSES[name]()
    assert cls.name == name, f"the registry entry {name} builds pass {cls.name}"
    assert cls.__doc__ and cls.__doc__.strip(), f"{cls.__name__} has no docstring"
    assert sys.modules[cls.__module__].__doc__, f"{cls.__module__} has no module docstring"
    assert (ROOT / "tests" / "filecheck" / f"{name}.mlir").is_file(), f"{name} has no lit file"
    options = [f.name.replace("_", "-") for f in dataclasses.fields(cls)]
    assert _readme_options(name) == options, f"README's row for {name} must list {options}"
