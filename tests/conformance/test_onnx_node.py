"""The ONNX backend node tests through Ziggurat (from_onnx, build, GraphModule), every input fed
at run time. Each case's outcome is pinned: it passes, or it is listed in expected_skips.txt
(refused with an UnsupportedOpError naming what Ziggurat lacks) or in known_failures.txt (any
other failure, a strict xfail). A case that moves between these, in either direction, fails
until its list is updated, so coverage cannot regress unnoticed."""

from pathlib import Path

import numpy as np
import pytest

import ziggurat
from ziggurat.core.errors import UnsupportedOpError
from ziggurat.runtime import GraphModule

from .onnx_cases import Case, cases

HERE = Path(__file__).parent


def _listed(file_name: str) -> dict[str, str]:
    """Case name -> reason, from a list file of `name  # reason` lines."""
    listed: dict[str, str] = {}
    for line in (HERE / file_name).read_text().splitlines():
        name, _, reason = line.partition("#")
        if name.strip():
            listed[name.strip()] = reason.strip()
    return listed


KNOWN_FAILURES = _listed("known_failures.txt")
EXPECTED_SKIPS = _listed("expected_skips.txt")


def run_case(case: Case) -> None:
    for feeds, expected in zip(case.inputs, case.outputs, strict=True):
        shapes = {name: value.shape for name, value in feeds.items()}
        module, params = ziggurat.from_onnx(case.model, shape=shapes)
        runner = GraphModule(ziggurat.build(module, params=params))
        runner.run(**feeds)
        for n, want in enumerate(expected):
            got = runner.get_output(n)
            assert got.shape == want.shape, f"output {n}: shape {got.shape} != {want.shape}"
            np.testing.assert_allclose(got, want, rtol=case.rtol, atol=case.atol)


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            c, id=c.name, marks=pytest.mark.xfail(strict=True) if c.name in KNOWN_FAILURES else ()
        )
        for c in cases()
    ],
)
def test_node(case: Case) -> None:
    if case.name in KNOWN_FAILURES:
        run_case(case)
        return
    try:
        run_case(case)
    except UnsupportedOpError as err:
        if case.name not in EXPECTED_SKIPS:
            pytest.fail(
                f"{case.name} is now refused ({err}); if that is meant, list it in "
                f"expected_skips.txt with the reason",
                pytrace=False,
            )
        pytest.skip(EXPECTED_SKIPS[case.name])
    if case.name in EXPECTED_SKIPS:
        pytest.fail(f"{case.name} now passes: remove it from expected_skips.txt", pytrace=False)


def test_lists_name_real_cases_once():
    names = {c.name for c in cases()}
    assert not (set(KNOWN_FAILURES) | set(EXPECTED_SKIPS)) - names, "a listed case does not exist"
    assert not set(KNOWN_FAILURES) & set(EXPECTED_SKIPS), "a case is in both lists"


def test_expected_skips_say_why():
    assert all(EXPECTED_SKIPS.values()), "every expected skip needs its reason after '#'"
