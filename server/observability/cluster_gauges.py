"""Gauges of the cluster's state, read from SQL (and the slot assignments in Redis) at each
scrape: runs by state, the queue by project, and each worker's used and free slots. Computed
fresh every time, so a project or worker that went away leaves no stale series behind."""

from collections.abc import Iterator
from datetime import timedelta

from fastapi import FastAPI
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis.exceptions import RedisError
from sqlalchemy import func, select

from runyard.schemas.states import RunState
from server.cluster.service import slots_in_use
from server.db import utcnow
from server.projects.models import Project
from server.runs.models import Run
from server.scheduler.settings import SchedulerSettings
from server.scheduler.snapshot import is_alive
from server.workers.models import Worker


def _families() -> dict[str, GaugeMetricFamily]:
    return {
        "runs": GaugeMetricFamily("runyard_runs", "runs in each state", labels=["state"]),
        "queue": GaugeMetricFamily(
            "runyard_queue_depth", "queued runs waiting for slots, by project", labels=["project"]
        ),
        "used": GaugeMetricFamily(
            "runyard_worker_slots_used",
            "slots held by a scheduled or running run, by worker",
            labels=["worker"],
        ),
        "free": GaugeMetricFamily(
            "runyard_worker_slots_free",
            "slots a new run could take now, by worker (0 while the worker is not alive)",
            labels=["worker"],
        ),
        "up": GaugeMetricFamily(
            "runyard_worker_up", "1 while the worker's heartbeats arrive", labels=["worker"]
        ),
    }


class ClusterGauges(Collector):
    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def describe(self) -> Iterator[Metric]:
        # Declared without reading anything, so registering does not touch the database.
        yield from _families().values()

    def collect(self) -> Iterator[Metric]:
        state = self.app.state
        factory = getattr(state, "session_factory", None)
        if factory is None:  # not started yet
            return
        families = _families()
        with factory() as session:
            by_state: dict[str, int] = {
                str(run_state): int(count)
                for run_state, count in session.execute(
                    select(Run.state, func.count()).group_by(Run.state)
                )
            }
            for run_state in RunState:
                families["runs"].add_metric([run_state.value], by_state.get(run_state.value, 0))
            # A comprehension, not dict(result): a Result has .keys(), so dict() would take it
            # for a mapping.
            queued: dict[str, int] = {
                str(name): int(count)
                for name, count in session.execute(
                    select(Project.name, func.count(Run.id))
                    .join(
                        Run, (Run.project_id == Project.id) & (Run.state == "queued"), isouter=True
                    )
                    .group_by(Project.name)
                )
            }
            for project, depth in sorted(queued.items()):
                families["queue"].add_metric([project], depth)
            try:
                used = slots_in_use(session)
            except RedisError:
                used = {}
            timeout = timedelta(seconds=SchedulerSettings().worker_timeout_seconds)
            now = utcnow()
            for worker in session.scalars(select(Worker).order_by(Worker.name)):
                alive = is_alive(worker, now, timeout)
                held = min(used.get(worker.id, 0), worker.slots_total)
                families["used"].add_metric([worker.name], held)
                families["free"].add_metric(
                    [worker.name], worker.slots_total - held if alive else 0
                )
                families["up"].add_metric([worker.name], 1 if alive else 0)
        yield from families.values()
