"""XGBTuner: a boosted-tree cost model ranks the configs not measured yet (AutoTVM's
XGBTuner, on features of the scheduled loop nests, `tune.features`).

Until `plan_size` configs are measured it draws at random. Then, each batch: fit xgboost on
(features, throughput / best throughput) of every config measured without error (failures
score 0), with `loss_type` "rank" (pairwise ranking) or "reg" (squared error); score a sample
of at most `candidates` unmeasured configs; take the best-scored, and with probability
`epsilon` a random one instead, so the model keeps seeing configs it does not favour. Records
loaded with `load_history` train it from the first batch.
"""

from collections.abc import Sequence

import numpy as np
import xgboost as xgb

from ziggurat.schedule.space import Config
from ziggurat.tune.features import FeatureExtractor
from ziggurat.tune.measure import Measurement
from ziggurat.tune.records import ErrorCode
from ziggurat.tune.tasks import Task
from ziggurat.tune.tuner import Tuner

LOSSES = {"rank": "rank:pairwise", "reg": "reg:squarederror"}


class XGBTuner(Tuner):
    def __init__(
        self,
        task: Task,
        loss_type: str = "rank",
        plan_size: int = 16,
        candidates: int = 256,
        epsilon: float = 0.05,
        seed: int = 0,
    ):
        if loss_type not in LOSSES:
            raise ValueError(f"loss_type must be one of {', '.join(LOSSES)}, got {loss_type!r}")
        super().__init__(task, seed)
        self.loss_type, self.plan_size = loss_type, plan_size
        self.candidates, self.epsilon = candidates, epsilon
        self.features = FeatureExtractor(task)
        self.failed: set[Config] = set()

    def update(self, measurements: Sequence[Measurement]) -> None:
        super().update(measurements)
        for m in measurements:
            if m.result.error_code != ErrorCode.NO_ERROR:
                self.failed.add(m.config)

    def next_batch(self, size: int) -> list[Config]:
        if len(self.costs) < min(self.plan_size, len(self.task.space) // 2):
            return self.random_unvisited(size)
        model = self._fit()
        pool = self.random_unvisited(self.candidates)
        scored = [(c, f) for c in pool if (f := self.features(c)) is not None]
        if not scored:
            return self.random_unvisited(size)
        predictions = model.predict(xgb.DMatrix(np.stack([f for _, f in scored])))
        ranked = [scored[i][0] for i in np.argsort(-predictions)]
        batch: list[Config] = []
        for config in ranked:
            if len(batch) == size:
                break
            if self.rng.random() < self.epsilon:
                extra = [c for c in self.random_unvisited(size) if c not in batch]
                if extra:
                    batch.append(extra[0])
                    continue
            if config not in batch:
                batch.append(config)
        return batch

    def _fit(self) -> xgb.Booster:
        rows, targets = [], []
        best = min(self.costs.values())
        for config in [*self.costs, *self.failed]:
            features = self.features(config)
            if features is None:
                continue
            rows.append(features)
            targets.append(best / self.costs[config] if config in self.costs else 0.0)
        data = xgb.DMatrix(np.stack(rows), label=np.array(targets, dtype=np.float32))
        params = {
            "objective": LOSSES[self.loss_type],
            "max_depth": 3,
            "eta": 0.3,
            "gamma": 1e-4,
            "lambda": 1.0,
            "seed": self.rng.randrange(2**31),
            "verbosity": 0,
            "nthread": 1,
        }
        return xgb.train(params, data, num_boost_round=100)
