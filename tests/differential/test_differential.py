"""Random graphs compiled at opt_level 0 and 3 against onnxruntime, a bounded derandomized
number per CI run (benchmarks/differential_campaign.py runs thousands)."""

from hypothesis import HealthCheck, assume, given, settings

from .graphs import GraphCase
from .harness import check
from .strategies import float_graphs, integer_graphs


def bounded(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@bounded(100)
@given(float_graphs())
def test_float_graphs_match_onnxruntime(case: GraphCase) -> None:
    outcome = check(case)
    assume(outcome.unchecked is None)
    assert not outcome.failed, outcome.report()


@bounded(60)
@given(integer_graphs())
def test_integer_graphs_match_onnxruntime(case: GraphCase) -> None:
    outcome = check(case)
    assume(outcome.unchecked is None)
    assert not outcome.failed, outcome.report()
