"""Misuse gets an exception whose message says what to do."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

import trainer_core as pl
from tests.trainer_core.models import RegressionModel, loader, quiet_trainer


def test_unknown_trainer_flag_names_the_closest_known_flag() -> None:
    with pytest.raises(pl.MisconfigurationException, match="did you mean 'max_epochs'"):
        pl.Trainer(max_epoch=3)


def test_training_step_returning_nothing_under_automatic_optimization_says_to_return_the_loss(
    tmp_path: Any,
) -> None:
    class Forgetful(RegressionModel):
        def training_step(self, batch: Any, batch_idx: int) -> None:
            x, y = batch
            nn.functional.mse_loss(self(x), y)  # forgot to return it

    with (
        pytest.raises(pl.MisconfigurationException, match="return the loss"),
        pytest.warns(UserWarning),
    ):
        quiet_trainer(tmp_path, logger=False).fit(Forgetful(), loader())


def test_training_step_returning_a_detached_loss_says_not_to_detach(tmp_path: Any) -> None:
    class Detaching(RegressionModel):
        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            return super().training_step(batch, batch_idx).detach()

    with pytest.raises(pl.MisconfigurationException, match="not attached to the graph"):
        quiet_trainer(tmp_path, logger=False).fit(Detaching(), loader())


def test_training_step_dict_without_loss_says_to_add_it(tmp_path: Any) -> None:
    class NoLossKey(RegressionModel):
        def training_step(self, batch: Any, batch_idx: int) -> dict[str, Any]:
            return {"value": super().training_step(batch, batch_idx)}

    with pytest.raises(pl.MisconfigurationException, match="add 'loss'"):
        quiet_trainer(tmp_path, logger=False).fit(NoLossKey(), loader())


def test_monitoring_a_key_that_was_never_logged_says_to_log_it(tmp_path: Any) -> None:
    checkpoint = pl.callbacks.ModelCheckpoint(monitor="val_acc")
    trainer = quiet_trainer(tmp_path, logger=False, callbacks=[checkpoint])
    with pytest.raises(pl.MisconfigurationException, match=r"self.log\('val_acc'"):
        trainer.fit(RegressionModel(), loader(), loader())


def test_early_stopping_on_a_key_that_was_never_logged_says_to_log_it(tmp_path: Any) -> None:
    trainer = quiet_trainer(
        tmp_path, logger=False, callbacks=[pl.callbacks.EarlyStopping(monitor="val_acc")]
    )
    with pytest.raises(pl.MisconfigurationException, match="val_acc"):
        trainer.fit(RegressionModel(), loader(), loader())


def test_loading_a_checkpoint_from_another_model_says_it_does_not_fit(tmp_path: Any) -> None:
    trainer = quiet_trainer(tmp_path, logger=False)
    trainer.fit(RegressionModel(hidden=8), loader())
    path = str(tmp_path / "model.ckpt")
    trainer.save_checkpoint(path)

    class Different(RegressionModel):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.extra = nn.Linear(2, 2)

    with pytest.raises(pl.MisconfigurationException, match="does not fit Different"):
        Different.load_from_checkpoint(path)


def test_resuming_from_a_file_that_is_not_a_checkpoint_says_what_to_pass(tmp_path: Any) -> None:
    bogus = tmp_path / "notes.ckpt"
    torch.save({"weights": torch.zeros(1)}, bogus)
    trainer = quiet_trainer(tmp_path, logger=False, resume_from_checkpoint=str(bogus))
    with pytest.raises(pl.MisconfigurationException, match="not a trainer_core checkpoint"):
        trainer.fit(RegressionModel(), loader())


def test_missing_training_data_says_where_to_put_it(tmp_path: Any) -> None:
    with pytest.raises(pl.MisconfigurationException, match="train_dataloader"):
        quiet_trainer(tmp_path, logger=False).fit(RegressionModel())


def test_several_optimizers_need_an_optimizer_idx_argument(tmp_path: Any) -> None:
    class TwoOptimizers(RegressionModel):
        def configure_optimizers(self) -> Any:
            return [
                torch.optim.SGD(self.parameters(), lr=0.1),
                torch.optim.SGD(self.parameters(), lr=0.1),
            ]

    with pytest.raises(pl.MisconfigurationException, match="optimizer_idx"):
        quiet_trainer(tmp_path, logger=False).fit(TwoOptimizers(), loader())


def test_manual_backward_under_automatic_optimization_says_how_to_switch(tmp_path: Any) -> None:
    class Confused(RegressionModel):
        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            loss = super().training_step(batch, batch_idx)
            self.manual_backward(loss, self.optimizers())
            return loss

    with pytest.raises(pl.MisconfigurationException, match="automatic_optimization=False"):
        quiet_trainer(tmp_path, logger=False).fit(Confused(), loader())


def test_training_epoch_end_returning_a_value_says_to_log_instead(tmp_path: Any) -> None:
    class Returning(RegressionModel):
        def training_epoch_end(self, outputs: list[Any]) -> Any:
            return {"x": 1}

    with pytest.raises(pl.MisconfigurationException, match="must return None"):
        quiet_trainer(tmp_path, logger=False).fit(Returning(), loader())


def test_logging_a_non_scalar_tensor_says_to_reduce_it(tmp_path: Any) -> None:
    class Vector(RegressionModel):
        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            self.log("vec", torch.ones(3))
            return super().training_step(batch, batch_idx)

    with pytest.raises(pl.MisconfigurationException, match="mean"):
        quiet_trainer(tmp_path, logger=False).fit(Vector(), loader())


def test_precision_16_on_cpu_suggests_bf16() -> None:
    with pytest.raises(pl.MisconfigurationException, match="bf16"):
        pl.Trainer(precision=16, logger=False)


def test_unsupported_flag_says_what_to_use_instead() -> None:
    with pytest.raises(pl.MisconfigurationException, match="gpus=1 or the CPU"):
        pl.Trainer(tpu_cores=8)


def test_reduce_on_plateau_without_monitor_says_how_to_name_it(tmp_path: Any) -> None:
    class Plateau(RegressionModel):
        def configure_optimizers(self) -> Any:
            optimizer = torch.optim.SGD(self.parameters(), lr=0.1)
            return [optimizer], [torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer)]

    with pytest.raises(pl.MisconfigurationException, match="'monitor': 'val_loss'"):
        quiet_trainer(tmp_path, logger=False).fit(Plateau(), loader())
