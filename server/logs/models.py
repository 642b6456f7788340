from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, UTCDateTime
from server.metrics.models import BigIntKey


class LogLine(Base):
    """One line of a run's output. (run_id, attempt, seq, line_no) makes redelivery a no-op;
    `id` grows in arrival order and is the paging and live cursor."""

    __tablename__ = "log_lines"
    __table_args__ = (UniqueConstraint("run_id", "attempt", "seq", "line_no"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    line_no: Mapped[int] = mapped_column(Integer)
    stream: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
