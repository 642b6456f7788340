from pydantic import BaseModel, ConfigDict, Field


class AcceptAttempt(BaseModel):
    model_config = ConfigDict(extra="forbid")

    node_rank: int = Field(default=0, ge=0, le=4096)
    incarnation: str = Field(min_length=1, max_length=64)


class AttemptAccepted(BaseModel):
    run_id: str
    attempt: int
    fence: int
