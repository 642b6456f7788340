"""Where this process sits in a distributed run, read from the usual torch environment.

The variables are the ones `torchrun`, Lightning 1.0's ddp launcher and Runyard's worker set:
`MASTER_ADDR`, `MASTER_PORT`, `NODE_RANK` (or `GROUP_RANK`), `WORLD_SIZE` and `LOCAL_RANK`.
`LOCAL_RANK` present means "someone already started one process per device": join, do not
launch. Its absence in the first process of a node means that process launches the others.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from trainer_core.exceptions import MisconfigurationException

DEFAULT_MASTER_ADDR = "127.0.0.1"
# A rank stuck in a collective (a peer that hangs without dying) gives up after this long.
DEFAULT_COLLECTIVE_TIMEOUT = timedelta(minutes=30)
TIMEOUT_VARIABLE = "TRAINER_CORE_COLLECTIVE_TIMEOUT_S"


@dataclass(frozen=True)
class ClusterEnvironment:
    """The rendezvous point and this process's ranks, as far as the environment says."""

    master_addr: str = DEFAULT_MASTER_ADDR
    master_port: int | None = None
    node_rank: int = 0
    world_size: int | None = None
    local_rank: int | None = None
    collective_timeout: timedelta = DEFAULT_COLLECTIVE_TIMEOUT

    @property
    def launched_externally(self) -> bool:
        """True when this process is one of several already started for its node."""
        return self.local_rank is not None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ClusterEnvironment:
        env = os.environ if environ is None else environ
        node_rank = env.get("NODE_RANK", env.get("GROUP_RANK", "0"))
        timeout = env.get(TIMEOUT_VARIABLE)
        return cls(
            master_addr=env.get("MASTER_ADDR", DEFAULT_MASTER_ADDR),
            master_port=_int_var(env, "MASTER_PORT"),
            node_rank=_parse_int("NODE_RANK", node_rank),
            world_size=_int_var(env, "WORLD_SIZE"),
            local_rank=_int_var(env, "LOCAL_RANK"),
            collective_timeout=(
                timedelta(seconds=float(timeout)) if timeout else DEFAULT_COLLECTIVE_TIMEOUT
            ),
        )

    def check_against(self, num_nodes: int, processes_per_node: int) -> None:
        """Refuse an environment that contradicts the Trainer flags, naming both."""
        expected = num_nodes * processes_per_node
        if self.world_size is not None and self.world_size != expected:
            raise MisconfigurationException(
                f"WORLD_SIZE={self.world_size} in the environment, but the Trainer flags give "
                f"num_nodes={num_nodes} x {processes_per_node} process(es) per node = {expected}. "
                "Make WORLD_SIZE equal num_nodes times the processes per node."
            )
        if not 0 <= self.node_rank < num_nodes:
            raise MisconfigurationException(
                f"NODE_RANK={self.node_rank} is outside num_nodes={num_nodes}; use 0..{num_nodes - 1}."
            )
        if self.local_rank is not None and not 0 <= self.local_rank < processes_per_node:
            raise MisconfigurationException(
                f"LOCAL_RANK={self.local_rank} is outside the {processes_per_node} process(es) per node."
            )
        if num_nodes > 1 and self.master_port is None:
            raise MisconfigurationException(
                f"num_nodes={num_nodes} needs MASTER_ADDR and MASTER_PORT set the same on every node "
                "(and NODE_RANK set per node); the Runyard worker sets them for multi-node runs."
            )


def find_free_port(host: str = DEFAULT_MASTER_ADDR) -> int:
    """A TCP port that was free a moment ago (the OS picks it), for a one-machine rendezvous."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _int_var(env: Mapping[str, str], name: str) -> int | None:
    value = env.get(name)
    return None if value in (None, "") else _parse_int(name, value)


def _parse_int(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise MisconfigurationException(
            f"{name}={value!r} in the environment is not an integer; fix or unset it."
        ) from None
