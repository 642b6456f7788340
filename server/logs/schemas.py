from datetime import datetime

from pydantic import BaseModel, Field


class LogLinePublic(BaseModel):
    id: int = Field(description="cursor: pass the last one as `after` for the next page")
    attempt: int
    stream: str
    text: str
    ts: datetime


class LogPage(BaseModel):
    run_id: str
    lines: list[LogLinePublic]
    next_after: int | None = Field(description="`after` for the next page; null at the end")
