"""GraphModule.profile: one row per launch, whichever way run() dispatches."""

import numpy as np
import pytest

from ziggurat.runtime import GraphModule
from ziggurat.runtime.profiler import LaunchProfile, ProfileReport


@pytest.mark.parametrize("use_entry", [None, False])
def test_profile_times_every_launch(make_lib, plan, inputs, expected, use_entry) -> None:
    for launch, flops in zip(plan["launches"], (16, 16, 16), strict=True):
        launch["flops"] = flops
    runner = GraphModule(make_lib(launches=plan["launches"]), use_entry=use_entry)
    report = runner.profile(repeat=5, warmup=2, **inputs)
    assert [(p.index, p.kernel, p.shape) for p in report.launches] == [
        (0, "add", (2, 8)), (1, "relu", (2, 8)), (2, "add", (2, 8))
    ]  # fmt: skip
    assert all(p.seconds > 0 and p.flops == 16 for p in report.launches)
    assert sum(report.share(p) for p in report.launches) == pytest.approx(1)
    assert report.total_flops == 48 and report.repeat == 5
    np.testing.assert_array_equal(runner.get_output("sum"), expected[1])
    runner.run()
    np.testing.assert_array_equal(runner.get_output("sum"), expected[1])


def test_table_shows_time_share_and_rate() -> None:
    report = ProfileReport(
        (
            LaunchProfile(0, "matmul_0", (1, 512), 3e-6, 6000),
            LaunchProfile(1, "softmax_0", (1, 10), 1e-6, 0),
        ),
        repeat=10,
    )
    lines = str(report).splitlines()
    assert lines[0].split() == ["#", "Name", "Shape", "Time", "(us)", "Percent", "GFLOP/s"]
    assert lines[2].split() == ["0", "matmul_0", "[1,", "512]", "3.00", "75.0%", "2.00"]
    assert lines[3].split() == ["1", "softmax_0", "[1,", "10]", "1.00", "25.0%", "0.00"]
    assert lines[5].split() == ["Total", "4.00", "100.0%", "1.50"]
    assert lines[6] == "mean of 10 runs; 2 launches"


def test_profile_checks_its_arguments(lib) -> None:
    with pytest.raises(ValueError, match="repeat must be at least 1"):
        GraphModule(lib).profile(repeat=0)
