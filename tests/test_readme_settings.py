"""Every RUNYARD_* variable the README's configuration table documents is read by a settings
class (or, for the client side, by runyard.credentials / runyard.user_config), so a renamed
setting cannot leave the README describing one that does nothing."""

import re

from server.scheduler.settings import SchedulerSettings
from server.settings import Settings
from tests.readme import README
from worker.settings import WorkerSettings

# Read by the client side (runyard.credentials, runyard.user_config), not a settings class.
CLIENT_SIDE = {
    "RUNYARD_URL",
    "RUNYARD_TOKEN",
    "RUNYARD_CONFIG_DIR",
    "RUNYARD_DATA_HOME",
    "RUNYARD_SPOOL_DIR",
}


def documented() -> set[str]:
    text = README.read_text()
    table = text[text.index("## Configuration") : text.index("## Deploying")]
    return set(re.findall(r"^\| `(RUNYARD_[A-Z_]+)`", table, re.MULTILINE)) | set(
        re.findall(r"^\| `RUNYARD_[A-Z_]+` / `(RUNYARD_[A-Z_]+)`", table, re.MULTILINE)
    )


def read() -> set[str]:
    def names(cls: type, prefix: str) -> set[str]:
        return {prefix + name.upper() for name in cls.model_fields}  # type: ignore[attr-defined]

    return (
        names(Settings, "RUNYARD_")
        | names(SchedulerSettings, "RUNYARD_SCHEDULER_")
        | names(WorkerSettings, "RUNYARD_WORKER_")
        | CLIENT_SIDE
    )


def test_the_configuration_table_lists_only_variables_something_reads():
    variables = documented()
    assert {"RUNYARD_REDIS_URL", "RUNYARD_METRICS_TOKEN", "RUNYARD_CONFIG_DIR"} <= variables
    assert not variables - read(), sorted(variables - read())
