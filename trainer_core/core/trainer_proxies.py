"""What a LightningModule reads from the Trainer it is attached to (defaults while detached)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trainer_core.trainer.trainer import Trainer


class TrainerProxies:
    """Mixed into `LightningModule`: step code asks the module, as in Lightning 1.0, for the
    epoch, step, ranks and which backend runs it (`self.use_dp or self.use_ddp2` is 1.0's test
    for outputs that arrive one per device in `training_step_end`)."""

    trainer: Trainer | None

    @property
    def current_epoch(self) -> int:
        return self.trainer.current_epoch if self.trainer is not None else 0

    @property
    def global_step(self) -> int:
        return self.trainer.global_step if self.trainer is not None else 0

    @property
    def global_rank(self) -> int:
        return self.trainer.global_rank if self.trainer is not None else 0

    @property
    def local_rank(self) -> int:
        return self.trainer.local_rank if self.trainer is not None else 0

    @property
    def use_dp(self) -> bool:
        return self.trainer is not None and self.trainer.use_dp

    @property
    def use_ddp(self) -> bool:
        return self.trainer is not None and self.trainer.use_ddp

    @property
    def use_ddp2(self) -> bool:
        return self.trainer is not None and self.trainer.use_ddp2

    @property
    def use_tpu(self) -> bool:
        return False  # TPUs are refused on purpose
