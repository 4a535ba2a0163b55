"""Pass counts on the ONNX node cases, Ziggurat's beside onnxruntime's, every input of every
case fed at run time to both:

    python tests/conformance/counts.py

Ziggurat's count is read off the pinned lists (the suite fails when a case's outcome moves);
onnxruntime's is measured by running each case in an InferenceSession.
"""

import sys
from collections import Counter
from pathlib import Path

import numpy as np
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conformance.onnx_cases import Case, cases  # noqa: E402
from conformance.test_onnx_node import EXPECTED_SKIPS, KNOWN_FAILURES  # noqa: E402


def onnxruntime_passes(case: Case) -> bool:
    try:
        session = ort.InferenceSession(
            case.model.SerializeToString(), providers=["CPUExecutionProvider"]
        )
        for feeds, expected in zip(case.inputs, case.outputs, strict=True):
            got = session.run(None, feeds)
            for have, want in zip(got, expected, strict=True):
                if np.shape(have) != want.shape:
                    return False
                np.testing.assert_allclose(have, want, rtol=case.rtol, atol=case.atol)
    except Exception:
        return False
    return True


def main() -> None:
    ort.set_default_logger_severity(4)
    found = cases()
    ziggurat = Counter(
        "skip" if c.name in EXPECTED_SKIPS else "fail" if c.name in KNOWN_FAILURES else "pass"
        for c in found
    )
    reference = {c.name: onnxruntime_passes(c) for c in found}
    print(
        f"{len(found)} cases: Ziggurat passes {ziggurat['pass']} (refuses {ziggurat['skip']}, "
        f"fails {ziggurat['fail']}); onnxruntime passes {sum(reference.values())}"
    )
    print(per_op_table(found, reference))


def per_op_table(found: tuple[Case, ...], reference: dict[str, bool]) -> str:
    """A markdown table, four ops a row: Ziggurat's passes / cases (onnxruntime's passes)."""
    total, ours, theirs = Counter[str](), Counter[str](), Counter[str]()
    for case in found:
        total[case.op] += 1
        ours[case.op] += case.name not in EXPECTED_SKIPS and case.name not in KNOWN_FAILURES
        theirs[case.op] += reference[case.name]
    cells = [f"{op} | {ours[op]}/{total[op]} ({theirs[op]})" for op in sorted(total)]
    cells += [" | "] * (-len(cells) % 4)
    rows = ["| op | pass (ort) " * 4 + "|", "|---|---" * 4 + "|"]
    rows += ["| " + " | ".join(cells[i : i + 4]) + " |" for i in range(0, len(cells), 4)]
    return "\n".join(rows)


if __name__ == "__main__":
    main()
