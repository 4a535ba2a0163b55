"""Building with the best configs of a tuning log (AutoTVM's apply_history_best).

    with tune.apply_history_best("best.jsonl"):
        lib = ziggurat.build(mod, target="llvm -mcpu=native", params=params)

Kernels whose workload has a record get its best config, the others their default. Records
of the target's own CPU are preferred, then those of a CPU with the same ISA features, then
any. When the block ends, one line on stderr says how many kernels the builds inside it took
from the log.
"""

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ziggurat.core.targets import as_target
from ziggurat.dialects.target import CpuTargetAttr
from ziggurat.schedule.dispatch import DispatchTable, use_configs
from ziggurat.tune.records import MeasureRecord, TargetInfo, configs_for_target, load_records


@contextmanager
def apply_history_best(
    log: str | Path | Iterable[MeasureRecord],
    target: str | CpuTargetAttr = "llvm -mcpu=native",
    quiet: bool = False,
) -> Iterator[DispatchTable]:
    records = load_records(log) if isinstance(log, str | Path) else list(log)
    configs, summary = configs_for_target(records, TargetInfo.of(as_target(target)))
    with use_configs(configs) as table:
        yield table
    if not quiet:
        asked = len(table.applied) + len(table.missed)
        print(
            f"{len(table.applied)} of {asked} kernels built with tuned configs ({summary})",
            file=sys.stderr,
        )
