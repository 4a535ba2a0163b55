"""Compile a graph at each opt_level, run it on the case's feeds and compare with onnxruntime.

Float outputs must agree within the case's tolerance (relative, and absolute scaled by the
largest expected magnitude, so a sum of many products is held to its own rounding); NaN and
infinities must sit where onnxruntime puts them; integer outputs must be equal.
"""

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import onnxruntime
from onnxruntime.capi import onnxruntime_pybind11_state as onnxruntime_errors

import ziggurat
from ziggurat.core import statistics
from ziggurat.core.errors import ZigguratError
from ziggurat.core.pass_manager import PassFailure

from .graphs import GraphCase

OPT_LEVELS = (0, 3)

ONNXRUNTIME_REFUSALS = (
    onnxruntime_errors.Fail,
    onnxruntime_errors.InvalidArgument,
    onnxruntime_errors.NotImplemented,
    onnxruntime_errors.RuntimeException,
)
"""What onnxruntime raises for a graph it cannot run (such as its NCHWc convolution on a 3x1
input), which leaves the case without a reference."""


@dataclass
class Outcome:
    """What one case gave: per opt_level, either matched, a mismatch description, a clean
    ZigguratError (an unsupported combination) or another exception or a pass failure (a
    crash)."""

    case: GraphCase
    mismatches: dict[int, str] = field(default_factory=dict)
    refused: dict[int, str] = field(default_factory=dict)
    crashes: dict[int, str] = field(default_factory=dict)
    rewrites: Counter[str] = field(default_factory=Counter)
    """The pass statistics of the builds (convs-to-winograd, convs-converted, ops-fused...)."""
    unchecked: str | None = None
    """Why onnxruntime gave no reference (it refused the graph), if it did not."""

    @property
    def failed(self) -> bool:
        return bool(self.mismatches or self.crashes)

    def report(self) -> str:
        lines = [f"graph: {self.case.label}"]
        for title, found in (("mismatch", self.mismatches), ("crash", self.crashes)):
            lines += [f"  opt_level {level} {title}: {text}" for level, text in found.items()]
        return "\n".join(lines)


def onnxruntime_outputs(case: GraphCase) -> list[np.ndarray]:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 4  # its refusals are reported through Outcome.unchecked
    session = onnxruntime.InferenceSession(
        case.model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    return [np.asarray(out) for out in session.run(None, case.feeds)]


def ziggurat_outputs(case: GraphCase, opt_level: int) -> list[np.ndarray]:
    module, params = ziggurat.from_onnx(case.model)
    lib = ziggurat.build(module, target="llvm -mcpu=native", params=params, opt_level=opt_level)
    return [np.asarray(out) for out in lib.run(case.feeds)]


def difference(ours: np.ndarray, theirs: np.ndarray, tolerance: float) -> str | None:
    """Why `ours` does not match `theirs`, or None when it does."""
    if ours.shape != theirs.shape or ours.dtype != theirs.dtype:
        return f"got {ours.dtype}{list(ours.shape)}, expected {theirs.dtype}{list(theirs.shape)}"
    if theirs.dtype.kind != "f":
        wrong = np.flatnonzero(ours != theirs)
        if wrong.size:
            at = wrong[0]
            return f"{wrong.size} elements differ, first at flat {at}: {ours.flat[at]} != {theirs.flat[at]}"
        return None
    finite = np.isfinite(theirs)
    if not np.array_equal(np.isnan(ours), np.isnan(theirs)) or not np.array_equal(
        ours[~finite & ~np.isnan(theirs)], theirs[~finite & ~np.isnan(theirs)]
    ):
        return "NaN or infinities where onnxruntime has none (or the other way round)"
    scale = float(np.abs(theirs[finite]).max()) if finite.any() else 1.0
    atol = tolerance * max(1.0, scale)
    error = np.abs(ours[finite].astype(np.float64) - theirs[finite])
    bound = atol + tolerance * np.abs(theirs[finite])
    if np.any(error > bound):
        worst = int(np.argmax(error - bound))
        return f"max abs error {error.max():.3g} (atol {atol:.3g}); worst {ours[finite][worst]} vs {theirs[finite][worst]}"
    return None


def check(case: GraphCase, opt_levels: tuple[int, ...] = OPT_LEVELS) -> Outcome:
    """Builds and runs `case` at each opt_level and compares every output with onnxruntime."""
    outcome = Outcome(case)
    try:
        expected = onnxruntime_outputs(case)
    except ONNXRUNTIME_REFUSALS as err:
        outcome.unchecked = str(err)
        return outcome
    for level in opt_levels:
        try:
            with statistics.collect() as counters:
                outputs = ziggurat_outputs(case, level)
            outcome.rewrites.update(counters)
        except PassFailure as err:  # generated IR that does not verify is a bug too
            outcome.crashes[level] = f"{type(err).__name__}: {err}"
            continue
        except ZigguratError as err:
            outcome.refused[level] = f"{type(err).__name__}: {err}"
            continue
        except Exception as err:  # anything else escaping a build or run is a bug
            outcome.crashes[level] = f"{type(err).__name__}: {err}"
            continue
        problems = [
            f"output {n}: {why}"
            for n, (ours, theirs) in enumerate(zip(outputs, expected, strict=True))
            if (why := difference(ours, theirs, case.tolerance)) is not None
        ]
        if problems:
            outcome.mismatches[level] = "; ".join(problems)
    return outcome
