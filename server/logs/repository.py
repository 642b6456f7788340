from sqlalchemy import select
from sqlalchemy.orm import Session

from server.logs.models import LogLine


def page(session: Session, run_id: str, after: int, limit: int, q: str | None) -> list[LogLine]:
    query = select(LogLine).where(LogLine.run_id == run_id, LogLine.id > after)
    if q:
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(LogLine.text.ilike(f"%{escaped}%", escape="\\"))
    return list(session.scalars(query.order_by(LogLine.id).limit(limit)))
