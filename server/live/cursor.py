"""The SSE cursor: how far a client has read each of a run's three feeds.

Written as four dot-separated integers, `<log id>.<metric attempt>.<metric seq>.<transitions>`:
the last log line id sent, the (attempt, seq) of the last metric event sent, and how many state
transitions were sent. Every message's SSE `id` is the cursor after it, so a reconnect with
`Last-Event-ID` resumes exactly there: nothing lost, nothing repeated.
"""

from dataclasses import dataclass

from server.errors import InvalidInput


@dataclass(frozen=True)
class Cursor:
    log_id: int = 0
    metric_attempt: int = 0
    metric_seq: int = -1
    transitions: int = 0

    def __str__(self) -> str:
        return f"{self.log_id}.{self.metric_attempt}.{self.metric_seq}.{self.transitions}"


def parse_cursor(raw: str | None) -> Cursor:
    if raw is None or raw.strip() == "":
        return Cursor()
    parts = raw.strip().split(".")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4 or values[0] < 0 or values[1] < 0 or values[3] < 0 or values[2] < -1:
        raise InvalidInput(
            f"invalid Last-Event-ID {raw!r}: send back an `id` this stream gave you, "
            "or none to start from the beginning",
            loc=["header", "Last-Event-ID"],
        )
    if max(abs(v) for v in values) > 2**62:
        raise InvalidInput(f"invalid Last-Event-ID {raw!r}: out of range", loc=["header"])
    return Cursor(*values)
