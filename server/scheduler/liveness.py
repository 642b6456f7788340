"""Judging workers dead only over time in which they could have been heard.

A worker is heard on two channels: HTTP heartbeats (stored by the server) and beats it writes
to Redis (read by the scheduler). It is dead when it has been silent on both for the timeout,
and at least one channel was up the whole time, so the silence is the worker's and not the
channel's. A server restart or upgrade (no HTTP heartbeats), a Redis restart (no beats) or a
new leader (no observations yet) therefore starts a grace period instead of declaring anyone
dead. Pure state and decisions, no I/O: the leader feeds it what it observed.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

CHANNELS = ("http", "redis")


@dataclass
class Liveness:
    timeout: timedelta
    healthy_since: dict[str, datetime | None] = field(
        default_factory=lambda: dict.fromkeys(CHANNELS)
    )
    """Start of each channel's current streak of health; None while it is down."""
    beats: dict[str, int] = field(default_factory=dict)
    """Last beat counter seen from each worker on Redis."""

    def observe_channel(self, channel: str, healthy: bool, now: datetime) -> None:
        if not healthy:
            self.healthy_since[channel] = None
        elif self.healthy_since[channel] is None:
            self.healthy_since[channel] = now

    def observe_beat(self, worker: str, n: int) -> bool:
        """True when the beat is new since the last observation (the worker is alive now)."""
        fresh = self.beats.get(worker) not in (None, n)
        first = worker not in self.beats
        self.beats[worker] = n
        # The first beat a new leader sees may be minutes old: it proves nothing by itself.
        return fresh and not first

    def could_hear_throughout(self, now: datetime) -> bool:
        """Some channel has been up for a whole timeout."""
        return any(
            since is not None and now - since >= self.timeout
            for since in self.healthy_since.values()
        )

    def channel_up_for(self, channel: str, span: timedelta, now: datetime) -> bool:
        """`channel` has been up, as far as this leader saw, for the whole of `span`."""
        since = self.healthy_since[channel]
        return since is not None and now - since >= span

    def is_dead(self, last_heard: datetime, now: datetime) -> bool:
        """Silent (on every channel) for the timeout while someone could hear it."""
        return now - last_heard > self.timeout and self.could_hear_throughout(now)
