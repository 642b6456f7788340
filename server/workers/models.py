from datetime import datetime
from uuid import uuid4

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, UTCDateTime, utcnow


class Worker(Base):
    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid4()))
    name: Mapped[str] = mapped_column(String(200), unique=True)
    queue: Mapped[str] = mapped_column(String(200))
    hostname: Mapped[str] = mapped_column(String(255), default="")
    slots_total: Mapped[int] = mapped_column(Integer, default=1)
    gpu_names: Mapped[list[str]] = mapped_column(JSON, default=list)
    last_heartbeat: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    state: Mapped[str] = mapped_column(String(16), default="online")
    incarnation: Mapped[str | None] = mapped_column(String(64))
    """The worker process now answering to this name; another one means it restarted."""
    isolation: Mapped[str] = mapped_column(String(16), default="sandbox")
    """"sandbox", or "none" where the operator turned run isolation off."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
