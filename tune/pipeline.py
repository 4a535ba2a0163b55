"""Batches of candidates in flight on a measurer, so that a cluster's workers never wait for
a round to end.

A measurer on this machine measures a batch at once, and the tuner proposes the next batch
once it has learned from the last. A cluster's measurer (`StreamingMeasurer`) takes batches
of several tasks at a time and hands measurements back one by one as they complete: the
tuners propose the next batch while the last candidates of the previous one are still being
measured (asynchronous measurement, as AutoTVM's and MetaSchedule's runners do), so no worker
idles at the end of a round. A config in flight counts as visited, so none is proposed twice.
"""

from collections import deque
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from ziggurat.schedule.space import Config
from ziggurat.tune.measure import Measurement
from ziggurat.tune.tasks import Task


class Measurer(Protocol):
    def measure(self, task: Task, configs: Sequence[Config]) -> list[Measurement]: ...


@runtime_checkable
class StreamingMeasurer(Measurer, Protocol):
    """A measurer that measures candidates of several tasks at once and hands each
    measurement back as it completes, in any order (a cluster's): the tuner learns from and
    logs each as it comes, so an interruption loses none."""

    def submit(self, task: Task, configs: Sequence[Config]) -> None:
        """Starts measuring `configs` of the task, behind those already in flight."""
        ...

    def next_done(self) -> tuple[Task, Measurement]:
        """The next measurement to complete, with its task (waits for one)."""
        ...

    def in_flight(self) -> int:
        """Candidates submitted and not yet handed back."""
        ...

    def slots(self) -> int:
        """How many candidates it can measure at once."""
        ...


class Pipeline:
    """Batches in flight on a measurer, one at a time on a plain measurer; on a streaming one
    as many as keep each of its slots busy."""

    def __init__(self, measurer: Measurer):
        self.measurer = measurer
        self._queued: deque[tuple[Task, list[Config]]] = deque()
        """Batches waiting for a plain measurer."""

    def wants_more(self) -> bool:
        """Whether a batch should be proposed now: nothing is in flight, or (on a streaming
        measurer) no more than one candidate per slot, so every worker still has one to
        measure while the tuner proposes the next."""
        if isinstance(self.measurer, StreamingMeasurer):
            return self.measurer.in_flight() <= self.measurer.slots()
        return not self._queued

    def submit(self, task: Task, configs: Sequence[Config]) -> None:
        if isinstance(self.measurer, StreamingMeasurer):
            self.measurer.submit(task, configs)
        else:
            self._queued.append((task, list(configs)))

    def in_flight(self) -> int:
        if isinstance(self.measurer, StreamingMeasurer):
            return self.measurer.in_flight()
        return sum(len(configs) for _, configs in self._queued)

    def next(self) -> tuple[Task, list[Measurement]]:
        """The next measurements to arrive, all of one task: one on a streaming measurer, a
        whole batch on a plain one."""
        if isinstance(self.measurer, StreamingMeasurer):
            task, measurement = self.measurer.next_done()
            return task, [measurement]
        task, configs = self._queued.popleft()
        return task, self.measurer.measure(task, configs)
