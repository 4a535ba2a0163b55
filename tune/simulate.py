"""A simulated measurer: an analytic cost of a config plus seeded noise, for testing tuners,
early stopping, resume and transfer quickly and deterministically (no kernel is built).

The cost model favours tiles near a hidden optimum of the task (so a tuner has something to
find), makes some configs fail to instantiate, and is the same for the same config and seed.
"""

import hashlib
import time
from collections.abc import Sequence

import numpy as np

from ziggurat.passes.graph.winograd import TILE_KNOB
from ziggurat.schedule.space import Config
from ziggurat.tune.measure import Measurement
from ziggurat.tune.records import ErrorCode, MeasureResult
from ziggurat.tune.tasks import Task

PARALLEL_PENALTY = {"auto": 0.0, "fused": 0.03, "none": 0.1}
SIMULATED_FLOPS = 1e11
"""FLOP/s of a task's best config: the cost of a config scales with the task's FLOPs."""
WINOGRAD_COSTS = {0: 1.0, 2: 0.6, 4: 0.75}
"""A graph task's cost by its Winograd tile, relative to the direct convolution."""


class SimulatedMeasurer:
    def __init__(self, seed: int = 0, noise: float = 0.02, failing_share: float = 0.1):
        self.seed = seed
        self.noise = noise
        self.failing_share = failing_share
        self.measured: list[Config] = []
        self.measured_by_task: dict[str, list[Config]] = {}

    def _hash(self, task: Task, config: Config) -> int:
        text = f"{self.seed}:{task.key}:{sorted(config.items())}"
        return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16)

    def cost(self, task: Task, config: Config) -> float:
        """Seconds per run without noise, the task's FLOPs at `SIMULATED_FLOPS` at best:
        lowest at tile_rows 6, tile_cols two vectors, the
        first vector axis, row blocks outer, the reduction unrolled by 2 and the parallel
        policy left to the build. A graph task's cost is its `WINOGRAD_COSTS`."""
        if task.kind == "graph":
            return max(task.flops, 1) / SIMULATED_FLOPS * WINOGRAD_COSTS[int(config[TILE_KNOB])]
        rows, cols = int(config["tile_rows"]), int(config["tile_cols"])
        target_cols = 2 * task.lanes
        shape_penalty = (rows - 6) ** 2 / 36 + (cols - target_cols) ** 2 / target_cols**2
        loops_penalty = (
            0.3 * int(config["column"])
            + 0.05 * int(config.get("order", 0))
            + 0.02 * abs(int(config.get("unroll", 2)) - 2)
            + PARALLEL_PENALTY.get(str(config.get("parallel", "auto")), 0.0)
        )
        return max(task.flops, 1) / SIMULATED_FLOPS * (1 + shape_penalty + loops_penalty)

    def measure(self, task: Task, configs: Sequence[Config]) -> list[Measurement]:
        found = []
        for config in configs:
            self.measured.append(config)
            self.measured_by_task.setdefault(task.key, []).append(config)
            draw = self._hash(task, config)
            if config != task.default and (draw % 1000) / 1000 < self.failing_share:
                result = MeasureResult(
                    (), ErrorCode.INSTANTIATION_ERROR, "simulated", 0, 0, time.time()
                )
            else:
                rng = np.random.default_rng(draw)
                base = self.cost(task, config)
                costs = tuple(
                    float(base * (1 + self.noise * rng.standard_normal())) for _ in range(3)
                )
                result = MeasureResult(costs, ErrorCode.NO_ERROR, "", 0.0, 0.0, time.time())
            found.append(Measurement(config, result, f"simulated {config}"))
        return found
