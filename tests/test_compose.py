"""docker-compose.yml describes a real deployment, and every RUNYARD_* variable it sets is one
the component's settings class reads (a typo would otherwise be ignored silently)."""

import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from server.scheduler.settings import SchedulerSettings
from server.settings import Settings
from worker.settings import WorkerSettings

COMPOSE = yaml.safe_load((Path(__file__).resolve().parents[1] / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
_VARIABLE = re.compile(r"\$\$|\$\{(\w+)(?:(:\?|:-)([^}]*))?\}")


class MissingVariable(Exception):
    pass


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's variable substitution: ${X}, ${X:-default}, ${X:?error} and $$ for a '$'."""

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, operator, argument = match.groups()
        if variables.get(name):
            return variables[name]
        if operator == ":?":
            raise MissingVariable(f"{name}: {argument}")
        return argument or ""

    return _VARIABLE.sub(substitute, value)


def environment(service: str, variables: dict[str, str]) -> dict[str, str]:
    return {k: interpolate(str(v), variables) for k, v in SERVICES[service]["environment"].items()}


DEPLOYMENT = {"RUNYARD_REDIS_PASSWORD": "0123abcd", "RUNYARD_WORKER_TOKEN": "ry_worker_x"}


def fields_of(settings_class, prefix: str) -> set[str]:
    return {prefix + name.upper() for name in settings_class.model_fields}


def test_every_part_of_the_service_is_there():
    assert {"postgres", "redis", "server", "ingester", "scheduler", "worker"} <= set(SERVICES)


INGESTERS = [n for n, s in SERVICES.items() if "server.ingest" in s.get("command", [])]


def test_two_ingesters_share_the_consumer_group_under_their_own_consumer_names():
    assert INGESTERS == ["ingester", "ingester-2"]
    commands = [SERVICES[name]["command"] for name in INGESTERS]
    assert all(c[:3] == ["python", "-m", "server.ingest"] for c in commands)
    names = [c[c.index("--consumer") + 1] for c in commands]
    assert len(set(names)) == 2, names
    # The same stream and group: the same Redis, prefix and database.
    first, second = (environment(name, DEPLOYMENT) for name in INGESTERS)
    assert first == second
    assert SERVICES["ingester-2"]["depends_on"] == SERVICES["ingester"]["depends_on"]


def test_server_runs_migrations_at_start_and_waits_for_healthy_databases():
    server = SERVICES["server"]
    assert server["command"] == ["python", "-m", "server"]  # migrates, then serves
    assert server["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    assert "healthcheck" in server and "healthcheck" in SERVICES["postgres"]


def test_database_redis_and_artifacts_live_on_volumes():
    assert {"pgdata", "redisdata", "artifacts", "workerdata"} <= set(COMPOSE["volumes"])
    assert "pgdata:/var/lib/postgresql/data" in SERVICES["postgres"]["volumes"]
    assert "artifacts:/data" in SERVICES["server"]["volumes"]


def test_worker_reserves_nvidia_gpus():
    devices = SERVICES["worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}]


def test_worker_container_can_build_run_sandboxes():
    """The worker's default isolation needs bubblewrap in the image, the capability to create
    namespaces and mounts (which Docker's default seccomp and AppArmor profiles forbid), and a
    writable cgroup tree for run limits; without them it refuses to start."""
    worker = SERVICES["worker"]
    assert "bubblewrap" in COMPOSE["x-runyard-image"]["build"]["dockerfile_inline"]
    assert worker["cap_add"] == ["SYS_ADMIN"]
    assert {"seccomp=unconfined", "apparmor=unconfined"} <= set(worker["security_opt"])
    assert "/sys/fs/cgroup:/sys/fs/cgroup:rw" in worker["volumes"]
    assert "RUNYARD_WORKER_ISOLATION" not in worker["environment"]  # the sandbox stays on
    assert not worker.get("privileged", False)


def test_worker_gets_no_database_credentials():
    env = SERVICES["worker"]["environment"]
    assert not any("DATABASE" in key for key in env)


def test_server_side_runs_in_production_mode_on_postgresql():
    env = SERVICES["server"]["environment"]
    assert env["RUNYARD_ENVIRONMENT"] == "production"
    assert env["RUNYARD_DATABASE_URL"].startswith("postgresql")


@pytest.mark.parametrize("service", ["server", "ingester", "ingester-2", "scheduler", "worker"])
def test_every_runyard_variable_is_read_by_a_settings_class(service):
    known = (
        fields_of(Settings, "RUNYARD_")
        | fields_of(SchedulerSettings, "RUNYARD_SCHEDULER_")
        | fields_of(WorkerSettings, "RUNYARD_WORKER_")
    )
    env = SERVICES[service]["environment"]
    unknown = {key for key in env if key.startswith("RUNYARD_")} - known
    assert not unknown, f"{service} sets variables nothing reads: {sorted(unknown)}"


def test_worker_and_server_agree_on_the_redis_prefix():
    server_prefix = SERVICES["server"]["environment"]["RUNYARD_REDIS_PREFIX"]
    assert SERVICES["worker"]["environment"]["RUNYARD_WORKER_REDIS_PREFIX"] == server_prefix


@pytest.mark.parametrize(
    "service", ["server", "ingester", "ingester-2", "scheduler", "worker", "redis"]
)
def test_compose_refuses_to_start_without_a_redis_password(service):
    with pytest.raises(MissingVariable, match="RUNYARD_REDIS_PASSWORD"):
        environment(service, {"RUNYARD_WORKER_TOKEN": "ry_worker_x"})


def test_redis_requires_the_password_every_service_connects_with():
    redis_env = environment("redis", DEPLOYMENT)
    command = " ".join(SERVICES["redis"]["command"])
    assert '--requirepass "$$REDISCLI_AUTH"' in command  # $$: expanded by the shell, not compose
    assert redis_env["REDISCLI_AUTH"] == DEPLOYMENT["RUNYARD_REDIS_PASSWORD"]
    urls = [environment(s, DEPLOYMENT)["RUNYARD_REDIS_URL"] for s in ("server", "ingester")]
    urls += [environment("scheduler", DEPLOYMENT)["RUNYARD_REDIS_URL"]]
    urls += [environment("worker", DEPLOYMENT)["RUNYARD_WORKER_REDIS_URL"]]
    for url in urls:
        assert urlparse(url).password == DEPLOYMENT["RUNYARD_REDIS_PASSWORD"], url
        assert urlparse(url).hostname == "redis"


def test_every_service_passes_its_own_production_checks(monkeypatch, tmp_path):
    for service, settings_class in (
        ("server", Settings),
        ("ingester", Settings),
        ("ingester-2", Settings),
        ("scheduler", Settings),
        ("worker", WorkerSettings),
    ):
        with monkeypatch.context() as scoped:
            for key, value in environment(service, DEPLOYMENT).items():
                scoped.setenv(key, value)
            settings = settings_class()
            assert settings.environment == "production", service
