"""One active scheduler, decided in SQL: a lease row that the leader renews every tick.

Each tick starts by renewing (or taking over) the lease with one conditional UPDATE in the
tick's own transaction. The UPDATE locks the row until the tick commits, so two schedulers'
ticks never interleave, and a leader that stalled past its lease finds the row taken (another
holder, a higher epoch) and writes nothing. Redis is not involved, so a Redis restart does not
interrupt scheduling; the leader mirrors its identity to a Redis key for observers only.
"""

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from runyard.schemas.streams import scheduler_leader_key
from server.attempts.models import SchedulerLease

LEASE_NAME = "scheduler"


def leader_key(prefix: str) -> str:
    """Redis key the leader mirrors its identity to (observers only; SQL decides)."""
    return scheduler_leader_key(prefix)


@dataclass
class Leadership:
    ttl_seconds: float
    identity: str = field(default_factory=lambda: uuid.uuid4().hex)
    epoch: int | None = None
    """The lease epoch this process holds, None while it does not lead."""
    acquired: bool = False
    """True on the tick that took the lease (the leader starts its observations afresh)."""

    def hold(self, session: Session, now: datetime) -> bool:
        """Renew or take the lease inside the caller's transaction; True while leading."""
        lease = SchedulerLease
        expires = now + timedelta(seconds=self.ttl_seconds)
        self.acquired = False
        if self.epoch is not None:
            renewed = session.execute(
                update(lease)
                .where(
                    lease.name == LEASE_NAME,
                    lease.holder == self.identity,
                    lease.epoch == self.epoch,
                )
                .values(expires_at=expires)
            )
            if renewed.rowcount == 1:  # type: ignore[attr-defined]
                return True
            self.epoch = None
        taken = session.execute(
            update(lease)
            .where(lease.name == LEASE_NAME, lease.expires_at <= now)
            .values(holder=self.identity, epoch=lease.epoch + 1, expires_at=expires)
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            if session.get(SchedulerLease, LEASE_NAME) is not None:
                return False
            try:
                with session.begin_nested():
                    session.execute(
                        insert(lease).values(
                            name=LEASE_NAME, holder=self.identity, epoch=1, expires_at=expires
                        )
                    )
            except IntegrityError:
                return False  # another scheduler created it first
        self.epoch = session.scalar(select(lease.epoch).where(lease.name == LEASE_NAME))
        self.acquired = True
        return True

    def release(self, session: Session, now: datetime) -> None:
        """Let the lease lapse now, so a stand-by takes over on its next tick."""
        if self.epoch is None:
            return
        lease = SchedulerLease
        session.execute(
            update(lease)
            .where(
                lease.name == LEASE_NAME,
                lease.holder == self.identity,
                lease.epoch == self.epoch,
            )
            .values(expires_at=now)
        )
        session.commit()
        self.epoch = None
