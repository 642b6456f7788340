"""Version folders of file loggers: `save_dir/name/version_N`, N one more than the largest."""

import os
import re
from argparse import Namespace

from trainer_core.core.hparams import is_config_container

_VERSION_DIR = re.compile(r"^version_(\d+)$")


def next_version(root: str) -> int:
    """The next free `version_N` number under `root` (0 when there is none)."""
    if not os.path.isdir(root):
        return 0
    numbers = [int(m.group(1)) for entry in os.listdir(root) if (m := _VERSION_DIR.match(entry))]
    return max(numbers) + 1 if numbers else 0


def version_dir_name(version: int | str) -> str:
    """An int version becomes `version_N`; a string is used as given."""
    return version if isinstance(version, str) else f"version_{version}"


class VersionedDirectory:
    """Where a file logger writes: `save_dir/name/version_N`. The version number is picked
    lazily, on first use, so constructing a logger on a rank that never logs claims nothing."""

    def _init_directory(self, save_dir: str, name: str | None, version: int | str | None) -> None:
        self._save_dir = save_dir
        self._name = name or ""
        self._version = version

    @property
    def root_dir(self) -> str:
        return os.path.join(self._save_dir, self._name) if self._name else self._save_dir

    @property
    def log_dir(self) -> str:
        return os.path.join(self.root_dir, version_dir_name(self.version))

    @property
    def save_dir(self) -> str:
        return self._save_dir

    @property
    def name(self) -> str:
        return self._name

    @property
    def version(self) -> int | str:
        if self._version is None:
            self._version = next_version(self.root_dir)
        return self._version


def write_hparams_yaml(path: str, params: dict) -> None:
    """Write hyperparameters as YAML (plain values; anything else is written as its repr)."""
    import yaml

    def plain(value):  # type: ignore[no-untyped-def]
        if is_config_container(value):
            from omegaconf import OmegaConf

            value = OmegaConf.to_container(value, resolve=True)
        if isinstance(value, Namespace):
            value = vars(value)
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        if value is None or isinstance(value, bool | int | float | str):
            return value
        return repr(value)

    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        yaml.safe_dump(plain(params), fh, sort_keys=False)
