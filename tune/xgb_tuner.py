"""XGBTuner: a boosted-tree cost model ranks the configs not measured yet (AutoTVM's
XGBTuner, on features of the scheduled loop nests, `tune.features`).

Until `plan_size` configs are measured it draws at random. Then, each batch: fit xgboost on
(features, throughput / best throughput) of every config measured without error (failures
score 0), with `loss_type` "rank" (pairwise ranking) or "reg" (squared error); score up to
`candidates` unmeasured configs (every one, when the space has no more; else the points a
simulated annealing walk visits: chains start at the fastest configs measured and at random
points, each step moves one knob, a worse-scored move is taken with a probability that falls
as the walk cools); take the best-scored, and with probability `epsilon` a random one
instead, so the model keeps seeing configs it does not favour. Records loaded with
`load_history` train it from the first batch, and so do the measurements of the tuners in
`transfer_from` (other kernels of the model, each scored relative to its own best: the
features are shape-independent enough for what is fast on one to rank another).
"""

import math
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
TRANSFER_ROWS = 256
"""Measurements taken from each other tuner in `transfer_from`."""
SA_CHAINS = 8
SA_TEMPERATURE = 0.1
"""Starting temperature of the walk, in score units (scores are throughputs relative to the
best, so a move that loses 0.1 is first taken about one time in e)."""


class XGBTuner(Tuner):
    def __init__(
        self,
        task: Task,
        loss_type: str = "rank",
        plan_size: int = 16,
        candidates: int = 64,
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
        self.transfer_from: list[XGBTuner] = []

    def update(self, measurements: Sequence[Measurement]) -> None:
        super().update(measurements)
        for m in measurements:
            if m.result.error_code != ErrorCode.NO_ERROR:
                self.failed.add(m.config)

    def next_batch(self, size: int) -> list[Config]:
        learned = len(self.costs) + sum(len(t.costs) for t in self.transfer_from)
        if not self.costs or learned < min(self.plan_size, len(self.task.space) // 2):
            return self.random_unvisited(size)
        model = self._fit()
        left = [c for c in self.task.space.points if c not in self.visited]
        scores = self._score(model, left) if len(left) <= self.candidates else self._anneal(model)
        if not scores:
            return self.random_unvisited(size)
        ranked = sorted(
            (c for c in scores if c not in self.visited), key=scores.__getitem__, reverse=True
        )
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

    def _score(self, model: xgb.Booster, configs: Sequence[Config]) -> dict[Config, float]:
        """The model's score of each config that applies."""
        scored = [(c, f) for c in configs if (f := self.features(c)) is not None]
        if not scored:
            return {}
        predictions = model.predict(xgb.DMatrix(np.stack([f for _, f in scored])))
        return {c: float(p) for (c, _), p in zip(scored, predictions, strict=True)}

    def _anneal(self, model: xgb.Booster) -> dict[Config, float]:
        """Scores of the configs a simulated annealing walk over the space visits, about
        `candidates` of them, in `SA_CHAINS` chains."""
        fastest = sorted(self.costs, key=self.costs.__getitem__)[: SA_CHAINS // 2]
        starts = fastest + self.random_unvisited(SA_CHAINS - len(fastest))
        scores = self._score(model, starts)
        chains = [c for c in starts if c in scores]
        steps = max(1, self.candidates // max(1, len(chains)))
        for step in range(steps):
            temperature = SA_TEMPERATURE * (1 - step / steps)
            moves = [self._neighbour(c) for c in chains]
            fresh = [m for m in moves if m is not None and m not in scores]
            scores.update(self._score(model, fresh))
            for n, move in enumerate(moves):
                if move is None or move not in scores:
                    continue
                gain = scores[move] - scores[chains[n]]
                if gain >= 0 or self.rng.random() < math.exp(gain / max(temperature, 1e-9)):
                    chains[n] = move
        return scores

    def _neighbour(self, config: Config) -> Config | None:
        """The config with one knob moved to another of its values; None off the space."""
        knobs = [k for k in self.task.space.knobs if len(k.values) > 1]
        if not knobs:
            return None
        knob = self.rng.choice(knobs)
        value = self.rng.choice([v for v in knob.values if v != config[knob.name]])
        moved = Config.of({**config, knob.name: value})
        return moved if moved in self.points else None

    def training_rows(self) -> tuple[list[np.ndarray], list[float]]:
        """(features, throughput relative to the best) of every config measured, failures
        at 0."""
        rows: list[np.ndarray] = []
        targets: list[float] = []
        if not self.costs:
            return rows, targets
        best = min(self.costs.values())
        for config in [*self.costs, *self.failed]:
            features = self.features(config)
            if features is None:
                continue
            rows.append(features)
            targets.append(best / self.costs[config] if config in self.costs else 0.0)
        return rows, targets

    def _fit(self) -> xgb.Booster:
        rows, targets = self.training_rows()
        for other in self.transfer_from:
            more_rows, more_targets = other.training_rows()
            rows += more_rows[:TRANSFER_ROWS]
            targets += more_targets[:TRANSFER_ROWS]
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
