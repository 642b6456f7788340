from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, UTCDateTime, utcnow


class RunAttempt(Base):
    """One attempt of a run, from its placement until it ends (completed, failed, canceled or
    superseded by the next attempt). `fence` is the fencing number: issued once, increasing,
    never reused, and carried by everything the attempt's workers send."""

    __tablename__ = "run_attempts"
    __table_args__ = (
        UniqueConstraint("run_id", "attempt"),
        {"sqlite_autoincrement": True},  # SQLite would otherwise reuse the highest id
    )

    fence: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    end_reason: Mapped[str | None] = mapped_column(String(2000))


class AttemptNode(Base):
    """The slots one node of an attempt holds on one worker. A slot is free again only once
    `released_at` is set: the worker confirmed the attempt's processes are gone, or the worker
    was silent past its lease (so its sandbox has torn the run down by itself)."""

    __tablename__ = "attempt_nodes"
    __table_args__ = (Index("ix_attempt_nodes_holding", "worker_name", "released_at"),)

    fence: Mapped[int] = mapped_column(
        ForeignKey("run_attempts.fence", ondelete="CASCADE"), primary_key=True
    )
    node_rank: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    worker_name: Mapped[str] = mapped_column(String(200))
    slots: Mapped[list[str]] = mapped_column(JSON, default=list)
    dispatched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    """When its task was last sent (tasks lost with a Redis restart are sent again)."""
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When its worker first reported holding it."""
    seen_incarnation: Mapped[str | None] = mapped_column(String(64))
    """The worker process that holds it: a restarted worker has another incarnation."""
    lost_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """The worker reported it could not finish it (its lease lapsed, it was shutting down)."""
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    release_reason: Mapped[str | None] = mapped_column(String(500))


class ServicePresence(Base):
    """When a service last said it was up. The scheduler counts a worker's silence only while
    the server, which receives heartbeats, was up to hear it."""

    __tablename__ = "service_presence"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SchedulerLease(Base):
    """The scheduler leadership, in SQL next to what it protects: each tick locks this row and
    checks its holder and epoch in the same transaction as its decisions, so a leader that
    stalled past its lease cannot write a placement after another took over."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    epoch: Mapped[int] = mapped_column(Integer, default=1)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
