"""The ONNX backend node tests through Ziggurat (from_onnx, build, GraphModule). A case
passes, or is skipped by an UnsupportedOpError naming what Ziggurat does not support; the
cases known to fail are listed in known_failures.txt and must keep failing (strict xfail), so
the list shrinks as coverage grows."""

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import ziggurat
from ziggurat.errors import UnsupportedOpError
from ziggurat.runtime import GraphModule

from .onnx_cases import Case, bind_integer_inputs, cases

KNOWN_FAILURES = {
    line.split("#")[0].strip()
    for line in (Path(__file__).parent / "known_failures.txt").read_text().splitlines()
    if line.split("#")[0].strip()
}


def run_case(case: Case) -> None:
    for feeds, expected in zip(case.inputs, case.outputs, strict=True):
        model, runtime_feeds = bind_integer_inputs(case.model, feeds)
        shapes = {name: value.shape for name, value in runtime_feeds.items()}
        module, params = ziggurat.from_onnx(model, shape=shapes)
        runner = GraphModule(ziggurat.build(module, params=params))
        runner.run(**runtime_feeds)
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
    try:
        run_case(case)
    except UnsupportedOpError as err:
        if case.name in KNOWN_FAILURES:
            raise
        pytest.skip(str(err))


def per_op_report() -> str:
    """Counts per op: cases, passing (not skipped nor known to fail)."""
    total, failing = Counter(), Counter()
    for case in cases():
        total[case.op] += 1
        failing[case.op] += case.name in KNOWN_FAILURES
    rows = [f"{op}: {total[op] - failing[op]}/{total[op]}" for op in sorted(total)]
    return "\n".join(rows)
