from datetime import datetime
from typing import Any
from uuid import uuid4

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from runyard.schemas.states import RunState
from runyard.schemas.tracking import RunKind
from server.db import Base, UTCDateTime, utcnow


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid4()))
    experiment_id: Mapped[str] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    trial_index: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16), default=RunState.queued.value, index=True)
    kind: Mapped[str] = mapped_column(
        String(16),
        default=RunKind.scheduled.value,
        server_default=RunKind.scheduled.value,
        index=True,
    )
    """'scheduled' (run by a worker) or 'external' (logged from outside; never scheduled)."""
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    worker_id: Mapped[str | None] = mapped_column(String(36), index=True)
    devices: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    exit_reason: Mapped[str | None] = mapped_column(String(2000))
    traceback: Mapped[str | None] = mapped_column(Text)
    resume_checkpoint_id: Mapped[str | None] = mapped_column(String(36))
    restarts: Mapped[int] = mapped_column(Integer, default=0)
    """Requeues after losing its worker (counted against max_restarts; preemptions are not)."""
    preempt_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    preempt_reason: Mapped[str | None] = mapped_column(String(500))
    """Why the scheduler asked its current attempt to checkpoint and stop."""
    rung: Mapped[int | None] = mapped_column(Integer)
    """ASHA trials: the rung it trains for, waits at or ended at (0 is the first); None for a
    trial not started yet and for runs outside an adaptive search."""
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    """Markdown the team writes about the run (PATCH /runs/{id})."""
    last_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """External runs: when their client was last heard (a batch, a heartbeat, its end)."""
    abandoned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """External runs failed by the scheduler because their client went silent; cleared when
    the client is heard again (the run is running again)."""


class RunTransition(Base):
    __tablename__ = "run_transitions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid4()))
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(String(2000))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RunParam(Base):
    """One flat param of a run (server/runs/params.py), kept for filtering and sorting the
    runs list by it: `value` is exact, `value_num` and `value_text` are what compares."""

    __tablename__ = "run_params"
    __table_args__ = (
        Index("ix_run_params_key_num", "key", "value_num"),
        Index("ix_run_params_key_text", "key", "value_text"),
    )

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    value_num: Mapped[float | None] = mapped_column(Float)
    value_text: Mapped[str | None] = mapped_column(String(1000))


class RunTag(Base):
    """A tag of the run itself, added after submission (its experiment's tags apply too)."""

    __tablename__ = "run_tags"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
