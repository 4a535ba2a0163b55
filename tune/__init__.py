"""Tuning, AutoTVM's road: tasks from a model, tuners over their config spaces, isolated
measurement, JSONL records, and builds with the best configs.

    from ziggurat import tune
    tasks = tune.extract_tasks(mod, target="llvm -mcpu=native", params=params)
    for task in tasks:
        tuner = tune.XGBTuner(task, loss_type="rank")   # GATuner, RandomTuner, GridSearchTuner
        tuner.tune(n_trial=min(200, len(task.config_space)), early_stopping=50,
                   measure_option=tune.measure_option(runner=tune.LocalRunner(number=20)),
                   callbacks=[tune.callback.log_to_file("tune.jsonl")])
    tune.pick_best("tune.jsonl", "best.jsonl")
    with tune.apply_history_best("best.jsonl"):
        lib = ziggurat.build(mod, target="llvm -mcpu=native", params=params)

or one budget for the whole model, spent where it gains most (`model_tuner`):

    result = tune.tune_model(mod, params, n_trial=2000, log="tune.jsonl")

measured on a Dask cluster's workers instead of this machine (`dask_measure`):

    option = tune.measure_option(builder=tune.DaskBuilder("tcp://host:8786"),
                                 runner=tune.DaskRunner("tcp://host:8786"))
"""

from ziggurat.tune import callback
from ziggurat.tune.dask_measure import DaskMeasurer
from ziggurat.tune.history import apply_history_best
from ziggurat.tune.measure import (
    DaskBuilder,
    DaskRunner,
    LocalBuilder,
    LocalMeasurer,
    LocalRunner,
    measure_option,
)
from ziggurat.tune.model_tuner import TUNERS, ModelTuningResult, TaskResult, tune_model
from ziggurat.tune.records import ErrorCode, TuningLogError, load_records, merge, pick_best
from ziggurat.tune.roofline import Roofline
from ziggurat.tune.simulate import SimulatedMeasurer
from ziggurat.tune.tasks import Task, extract_tasks
from ziggurat.tune.tuner import GATuner, GridSearchTuner, RandomTuner, Tuner
from ziggurat.tune.xgb_tuner import XGBTuner

__all__ = [
    "TUNERS",
    "DaskBuilder",
    "DaskMeasurer",
    "DaskRunner",
    "ErrorCode",
    "GATuner",
    "GridSearchTuner",
    "LocalBuilder",
    "LocalMeasurer",
    "LocalRunner",
    "ModelTuningResult",
    "RandomTuner",
    "Roofline",
    "SimulatedMeasurer",
    "Task",
    "TaskResult",
    "Tuner",
    "XGBTuner",
    "TuningLogError",
    "apply_history_best",
    "callback",
    "extract_tasks",
    "load_records",
    "measure_option",
    "merge",
    "pick_best",
    "tune_model",
]
