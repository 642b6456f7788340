"""Messages between the worker and a sandbox's supervisor: JSON lines on two pipes.

control (worker -> supervisor; only the worker holds the write end, so EOF means the worker
is gone): `go` once, then `lease` renewals and `signal`s.
status (supervisor -> worker): `ready` once preloaded, `forked`, then `exited` or
`lease_expired`; EOF means the sandbox is gone.
"""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Go(_Message):
    kind: Literal["go"] = "go"
    argv: list[str]
    run_child: bool
    """True: become `python -m worker.run_child <argv>` by forking the preloaded supervisor;
    False: execute `argv` as a program."""
    cwd: str
    env: dict[str, str]
    lease_seconds: float | None = Field(default=None, gt=0)
    """Run at most this long unless renewed; None: as long as the worker lives."""


class Lease(_Message):
    kind: Literal["lease"] = "lease"
    seconds: float = Field(gt=0)


class Signal(_Message):
    """Send `number` to every process of the run (not to the supervisor), or to the run's
    main process only (a request it handles itself, such as the preemption signal, must not
    reach helper processes that would die of it)."""

    kind: Literal["signal"] = "signal"
    number: int = Field(ge=1, le=64)
    main_only: bool = False


class Ready(_Message):
    kind: Literal["ready"] = "ready"


class Forked(_Message):
    kind: Literal["forked"] = "forked"
    pid: int
    """In the sandbox's PID namespace."""


class Exited(_Message):
    kind: Literal["exited"] = "exited"
    returncode: int
    """As subprocess reports it: negative when killed by that signal."""


class LeaseExpired(_Message):
    kind: Literal["lease_expired"] = "lease_expired"


class Refused(_Message):
    """The supervisor could not carry out a `go` (the run never started)."""

    kind: Literal["refused"] = "refused"
    reason: str


ControlMessage = Annotated[Go | Lease | Signal, Field(discriminator="kind")]
StatusMessage = Annotated[
    Ready | Forked | Exited | LeaseExpired | Refused, Field(discriminator="kind")
]
ControlAdapter: TypeAdapter[ControlMessage] = TypeAdapter(ControlMessage)
StatusAdapter: TypeAdapter[StatusMessage] = TypeAdapter(StatusMessage)


def encode(message: _Message) -> bytes:
    return message.model_dump_json().encode() + b"\n"
