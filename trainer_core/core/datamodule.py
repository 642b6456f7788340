"""`LightningDataModule`: the data side of an experiment (Lightning 1.0's API)."""

from __future__ import annotations

import functools
from argparse import ArgumentParser, Namespace
from typing import Any

from trainer_core.utilities.apply_func import move_data_to_device


class LightningDataModule:
    """Override `prepare_data`, `setup(stage)` and the dataloader methods.

    As in Lightning 1.0, `prepare_data` runs once, and `setup` once per stage ('fit', 'test'),
    even if the user already called it by hand before `fit`.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # wrap the subclass's own prepare_data/setup so a second call is skipped
        if "prepare_data" in cls.__dict__:
            cls.prepare_data = _once_prepare(cls.__dict__["prepare_data"])  # type: ignore[method-assign]
        if "setup" in cls.__dict__:
            cls.setup = _once_per_stage(cls.__dict__["setup"])  # type: ignore[method-assign]

    def __init__(
        self,
        train_transforms: Any = None,
        val_transforms: Any = None,
        test_transforms: Any = None,
        dims: tuple[int, ...] | None = None,
    ) -> None:
        self.train_transforms = train_transforms
        self.val_transforms = val_transforms
        self.test_transforms = test_transforms
        self.dims = dims
        self.trainer: Any = None

    # Lightning 1.0's command-line helpers, built from the subclass's __init__ signature as the
    # Trainer's are (imported when called: trainer_core.trainer imports this module)
    @classmethod
    def add_argparse_args(cls, parent_parser: ArgumentParser) -> ArgumentParser:
        from trainer_core.trainer import argparse_flags

        return argparse_flags.add_argparse_args(cls, parent_parser)

    @classmethod
    def from_argparse_args(cls, args: Namespace | ArgumentParser, **kwargs: Any) -> Any:
        from trainer_core.trainer import argparse_flags

        return argparse_flags.from_argparse_args(cls, args, **kwargs)

    @classmethod
    def get_init_arguments_and_types(cls) -> list[tuple[str, str, Any]]:
        from trainer_core.trainer import argparse_flags

        return argparse_flags.init_arguments(cls)

    def _flags(self) -> dict[str, bool]:
        if "_dm_flags" not in self.__dict__:
            self.__dict__["_dm_flags"] = {"prepare_data": False, "fit": False, "test": False}
        return self.__dict__["_dm_flags"]

    @property
    def has_prepared_data(self) -> bool:
        return self._flags()["prepare_data"]

    @property
    def has_setup_fit(self) -> bool:
        return self._flags()["fit"]

    @property
    def has_setup_test(self) -> bool:
        return self._flags()["test"]

    def size(self, dim: int | None = None) -> Any:
        if dim is not None and self.dims is not None:
            return self.dims[dim]
        return self.dims

    def prepare_data(self) -> None:
        """Download or write data (once)."""

    def setup(self, stage: str | None = None) -> None:
        """Build datasets for `stage` ('fit', 'test' or None for both)."""

    def train_dataloader(self) -> Any:
        return None

    def val_dataloader(self) -> Any:
        return None

    def test_dataloader(self) -> Any:
        return None

    def transfer_batch_to_device(self, batch: Any, device: Any) -> Any:
        return move_data_to_device(batch, device)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None: ...

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None: ...


def _once_prepare(fn: Any) -> Any:
    @functools.wraps(fn)
    def wrapper(self: LightningDataModule, *args: Any, **kwargs: Any) -> Any:
        flags = self._flags()
        if flags["prepare_data"]:
            return None
        flags["prepare_data"] = True
        return fn(self, *args, **kwargs)

    return wrapper


def _once_per_stage(fn: Any) -> Any:
    @functools.wraps(fn)
    def wrapper(
        self: LightningDataModule, stage: str | None = None, *args: Any, **kwargs: Any
    ) -> Any:
        flags = self._flags()
        stages = ["fit", "test"] if stage is None else [stage]
        if all(flags.get(s, False) for s in stages):
            return None
        for s in stages:
            flags[s] = True
        return fn(self, stage, *args, **kwargs)

    return wrapper
