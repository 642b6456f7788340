"""The faults the chaos suite injects, each from outside, as an operator would cause it.

A fault's pauses (how long the server stays down, how long a worker stays stopped) are the
fault itself, not synchronisation.
"""

import random
import time
from collections.abc import Callable

from sqlalchemy import create_engine, text

from tests.chaos.stack import ChaosStack

Fault = Callable[[ChaosStack, random.Random], str]


def _busy_workers(stack: ChaosStack) -> list[str]:
    engine = create_engine(stack.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT DISTINCT n.worker_name FROM attempt_nodes n "
                    "JOIN run_attempts a ON a.fence = n.fence "
                    "WHERE n.released_at IS NULL AND a.ended_at IS NULL"
                )
            ).scalars()
            return sorted(rows)
    finally:
        engine.dispose()


def _a_worker(stack: ChaosStack, rng: random.Random) -> str:
    busy = _busy_workers(stack)
    names = busy or [f"w{i}" for i in range(1, stack.workers + 1)]
    return f"worker-{rng.choice(names)}"


def kill_and_restart_server(stack: ChaosStack, rng: random.Random) -> str:
    stack.kill("server")
    stack.start("server")
    return "SIGKILL server, restarted"


def server_outage(stack: ChaosStack, rng: random.Random) -> str:
    stack.kill("server")
    down = stack.worker_timeout * 1.5
    time.sleep(down)  # the outage itself
    stack.start("server")
    return f"server down {down:.0f}s (worker timeout {stack.worker_timeout:.0f}s)"


def kill_and_restart_ingester(stack: ChaosStack, rng: random.Random) -> str:
    name = rng.choice(["ingester-1", "ingester-2"])
    stack.kill(name)
    stack.start(name)
    return f"SIGKILL {name}, restarted"


def kill_and_restart_leader(stack: ChaosStack, rng: random.Random) -> str:
    name = stack.leading_scheduler()
    stack.kill(name)
    stack.start(name)
    return f"SIGKILL {name} (the leader), restarted"


def kill_and_restart_worker(stack: ChaosStack, rng: random.Random) -> str:
    name = _a_worker(stack, rng)
    stack.kill(name)
    stack.start(name)
    return f"SIGKILL {name}, restarted"


def restart_redis(stack: ChaosStack, rng: random.Random) -> str:
    stack.redis.restart()
    return "Redis SHUTDOWN NOSAVE, restarted empty"


def pause_worker_past_its_lease(stack: ChaosStack, rng: random.Random) -> str:
    name = _a_worker(stack, rng)
    stack.pause(name)
    stopped = stack.worker_timeout * 1.7
    time.sleep(stopped)  # the pause itself
    stack.resume(name)
    return f"SIGSTOP {name} for {stopped:.0f}s, then SIGCONT"


FAULTS: tuple[Fault, ...] = (
    kill_and_restart_server,
    server_outage,
    kill_and_restart_ingester,
    kill_and_restart_leader,
    kill_and_restart_worker,
    restart_redis,
    pause_worker_past_its_lease,
)


def schedule(rng: random.Random, count: int) -> list[Fault]:
    """Every kind of fault once (in a seeded order), then seeded picks up to `count`."""
    first = list(FAULTS)
    rng.shuffle(first)
    return first[:count] + [rng.choice(FAULTS) for _ in range(count - len(first))]
