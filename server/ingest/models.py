"""What the ingester keeps per run besides the data itself: how much of each limit it uses."""

from sqlalchemy import BigInteger, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base


class RunIngestUsage(Base):
    """One row per run that has sent anything. The ingester locks it (in run id order) at the
    start of every batch that touches the run, so ingesters running at once take turns per run:
    its series, blocks, rollups, summaries and these counters always change together."""

    __tablename__ = "run_ingest_usage"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    log_bytes: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    """UTF-8 bytes of the log lines stored now (markers included)."""
    log_lines_dropped: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    """Older lines removed to keep log_bytes under the limit."""
    log_trims: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    metric_points_refused: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    """Points of metric keys past the run's key limit, not stored."""
    events_refused: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Events larger than the event size limit, dead-lettered."""
