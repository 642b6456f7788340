"""Admission: refuse at submit time a run that no registered worker could ever hold, saying
what the cluster has, instead of queueing it forever. A pure function over the workers'
capacities, so the rule is easy to see and to test."""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from runyard.schemas import Resources
from server.workers.models import Worker

_LISTED = 8


@dataclass(frozen=True)
class WorkerCapacity:
    name: str
    slots: int


@dataclass(frozen=True)
class AdmissionProblem:
    field: str
    message: str


def registered_workers(session: Session) -> list[WorkerCapacity]:
    """Every worker that ever registered, dead or alive: one that is down for maintenance
    still says what the cluster can hold once it is back."""
    rows = session.execute(select(Worker.name, Worker.slots_total).order_by(Worker.name))
    return [WorkerCapacity(name, slots) for name, slots in rows]


def _cluster(workers: Sequence[WorkerCapacity]) -> str:
    shown = ", ".join(
        f"{w.name} {w.slots} slot{'s' if w.slots != 1 else ''}" for w in workers[:_LISTED]
    )
    more = f" and {len(workers) - _LISTED} more" if len(workers) > _LISTED else ""
    return f"the cluster has {len(workers)} worker{'s' if len(workers) != 1 else ''}: {shown}{more}"


def admission_problem(
    resources: Resources, workers: Sequence[WorkerCapacity]
) -> AdmissionProblem | None:
    """None when some set of registered workers could hold the run (each node on its own
    worker, all its slots there). With no worker registered yet nothing can be judged: the
    run waits for the first one."""
    if not workers:
        return None
    per_node = max(resources.gpus_per_node, 1)
    big_enough = [w for w in workers if w.slots >= per_node]
    asked = (
        f"{resources.gpus_per_node} GPU{'s' if resources.gpus_per_node != 1 else ''} per node"
        if resources.gpus_per_node
        else "a CPU slot per node"
    )
    if not big_enough:
        largest = max(w.slots for w in workers)
        return AdmissionProblem(
            "gpus_per_node",
            f"asks for {asked}, but no registered worker has more than {largest} slot"
            f"{'s' if largest != 1 else ''} ({_cluster(workers)}); lower "
            "resources.gpus_per_node or add a bigger worker",
        )
    if len(big_enough) < resources.nodes:
        return AdmissionProblem(
            "nodes",
            f"asks for {resources.nodes} nodes with {asked}, but only {len(big_enough)} "
            f"registered worker{'s' if len(big_enough) != 1 else ''} can hold a node of it "
            f"({_cluster(workers)}); lower resources.nodes or add workers",
        )
    return None


def describe(resources: Resources) -> str:
    """'1 node, CPU (1 slot)', '2 nodes x 4 GPUs (8 slots)'."""
    nodes = f"{resources.nodes} node{'s' if resources.nodes != 1 else ''}"
    what = (
        f"{resources.gpus_per_node} GPU{'s' if resources.gpus_per_node != 1 else ''}"
        if resources.gpus_per_node
        else "CPU"
    )
    joined = f"{nodes} x {what}" if resources.gpus_per_node else f"{nodes}, {what}"
    return f"{joined} ({resources.slots} slot{'s' if resources.slots != 1 else ''})"
