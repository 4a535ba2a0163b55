"""Times one engine on one input in a process of its own, so that engines' thread pools and
CPU affinities do not meet (the house rule): `python -m benchmarks.engine_timer ENGINE FILE
INPUT.npz [THREADS]` prints the median seconds of `REPEAT` runs after a warm-up. ENGINE is
`ziggurat` (a `.zgt` file, run without the compiler) or `onnxruntime` (an `.onnx` file,
`THREADS` intra-op threads). `medians_in_turns` runs several such timings in turns."""

import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from benchmarks.harness import median_seconds

REPEAT = 200
WARMUP = 20


def _runner(
    engine: str, path: str, feeds: Mapping[str, np.ndarray], threads: int
) -> Callable[[], object]:
    if engine == "onnxruntime":
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        return lambda: session.run(None, dict(feeds))
    from ziggurat.runtime import GraphModule, load_module

    module = GraphModule(load_module(path))
    module.set_input(**feeds)
    return module.run


def medians_in_turns(timings: Mapping[str, Sequence[str]], turns: int) -> dict[str, float]:
    """The median over `turns` of each timing's median seconds, each timing an argument list
    for this module run in a fresh process, all of them once per turn (a drifting host
    touches each alike)."""
    seconds: dict[str, list[float]] = {name: [] for name in timings}
    root = Path(__file__).resolve().parent.parent
    for _ in range(turns):
        for name, arguments in timings.items():
            done = subprocess.run(
                [sys.executable, "-m", "benchmarks.engine_timer", *arguments],
                capture_output=True, text=True, check=True, cwd=root,
            )  # fmt: skip
            seconds[name].append(float(done.stdout.split()[-1]))
    return {name: float(np.median(values)) for name, values in seconds.items()}


def main() -> None:
    engine, path, inputs = sys.argv[1:4]
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    with np.load(inputs) as data:
        feeds = {name: data[name] for name in data.files}
    print(median_seconds(_runner(engine, path, feeds, threads), repeat=REPEAT, warmup=WARMUP))


if __name__ == "__main__":
    main()
