"""Trainer-level Lightning 1.0 behaviours that 1.0.8's tests/trainer and tests/core rely on
(found with scripts/lightning_suite.sh; issue 12): switching loaders and stages off, loaders
without batches or without a length, `trainer.get_model()`, the module's backend flags and
1.0's `utilities.data`, `utilities.model_utils` and `core.decorators` modules."""

from __future__ import annotations

import copy
from argparse import ArgumentParser
from collections.abc import Iterator
from typing import Any

import pytest
import torch
from torch.utils.data import DataLoader, IterableDataset, TensorDataset

import trainer_core as pl
from tests.trainer_core.models import RegressionModel, loader, quiet_trainer
from trainer_core.core.decorators import auto_move_data
from trainer_core.exceptions import MisconfigurationException
from trainer_core.utilities.data import has_iterable_dataset, has_len
from trainer_core.utilities.model_utils import is_overridden


class Endless(IterableDataset):
    """A stream without a length."""

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        while True:
            yield torch.randn(4), torch.randn(1)


class Recording(RegressionModel):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        self.calls.append("training_step")
        return super().training_step(batch, batch_idx)

    def training_epoch_end(self, outputs: Any) -> None:
        self.calls.append("training_epoch_end")

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.calls.append("validation_step")

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self.calls.append("test_step")

    def test_epoch_end(self, outputs: Any) -> None:
        self.calls.append("test_epoch_end")

    def train_dataloader(self) -> DataLoader:
        return loader(n=32)

    def val_dataloader(self) -> DataLoader:
        self.calls.append("val_dataloader")
        return loader(n=32)

    def test_dataloader(self) -> DataLoader:
        return loader(n=32)


def test_a_loader_method_set_to_none_switches_that_stage_off(tmp_path: Any) -> None:
    model = Recording()
    model.val_dataloader = None  # type: ignore[assignment,method-assign]
    trainer = quiet_trainer(tmp_path, logger=False, checkpoint_callback=False)
    trainer.fit(model)
    assert "validation_step" not in model.calls
    assert trainer.val_dataloaders == []
    model.test_dataloader = None  # type: ignore[assignment,method-assign]
    with pytest.raises(MisconfigurationException, match="No test data"):
        trainer.test(model)


def test_limit_train_batches_zero_trains_nothing_and_keeps_the_weights(tmp_path: Any) -> None:
    model = Recording()
    before = copy.deepcopy(model.state_dict())
    trainer = quiet_trainer(
        tmp_path, logger=False, limit_train_batches=0.0, limit_val_batches=1, max_epochs=2
    )
    assert trainer.fit(model) == 1
    assert trainer.current_epoch == 0
    assert "training_step" not in model.calls and "training_epoch_end" not in model.calls
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, before[name])


def test_limit_test_batches_zero_runs_no_test_hooks(tmp_path: Any) -> None:
    model = Recording()
    trainer = quiet_trainer(tmp_path, logger=False, limit_test_batches=0)
    assert trainer.test(model) == []
    assert trainer.num_test_batches == [0]
    assert "test_step" not in model.calls and "test_epoch_end" not in model.calls


def test_a_zero_fraction_of_a_loader_without_length_is_allowed(tmp_path: Any) -> None:
    trainer = quiet_trainer(tmp_path, logger=False, limit_train_batches=0.0)
    trainer.fit(RegressionModel(), DataLoader(Endless(), batch_size=4))
    assert trainer.num_training_batches == 0


def test_a_loader_without_batches_is_an_error(tmp_path: Any) -> None:
    empty = DataLoader(TensorDataset(torch.zeros(0, 4), torch.zeros(0, 1)), batch_size=4)
    with pytest.raises(ValueError, match="returned 0 length"):
        quiet_trainer(tmp_path, logger=False).fit(RegressionModel(), empty)


def test_the_progress_bar_counts_an_endless_epoch_with_an_int_val_check_interval(
    tmp_path: Any,
) -> None:
    trainer = quiet_trainer(
        tmp_path,
        logger=False,
        progress_bar_refresh_rate=1,
        max_steps=4,
        val_check_interval=2,
        limit_val_batches=1,
    )
    trainer.fit(RegressionModel(), DataLoader(Endless(), batch_size=4), loader(n=16))
    assert trainer.global_step == 4


def test_get_model_is_the_lightning_module(tmp_path: Any) -> None:
    model = RegressionModel()
    trainer = quiet_trainer(tmp_path, logger=False, checkpoint_callback=False, max_steps=1)
    trainer.fit(model, loader())
    assert trainer.get_model() is model is trainer.lightning_module


def test_the_module_reports_the_backend_it_runs_under(tmp_path: Any) -> None:
    model = RegressionModel()
    assert (model.use_dp, model.use_ddp, model.use_ddp2, model.use_tpu) == (False,) * 4
    quiet_trainer(tmp_path, logger=False, max_steps=1).fit(model, loader())
    assert (model.use_dp, model.use_ddp, model.use_ddp2, model.use_tpu) == (False,) * 4


def test_has_len_and_has_iterable_dataset() -> None:
    assert has_len(loader()) and not has_iterable_dataset(loader())
    assert not has_len(DataLoader(Endless(), batch_size=2))
    assert has_iterable_dataset(DataLoader(Endless(), batch_size=2))
    with pytest.raises(ValueError, match="0 length"):
        has_len([])


def test_has_len_warns_about_an_iterable_dataset_with_a_length() -> None:
    class Sized(Endless):
        def __len__(self) -> int:
            return 8

    with pytest.warns(UserWarning, match="`IterableDataset` has `__len__` defined"):
        assert has_len(DataLoader(Sized(), batch_size=2))


def test_is_overridden_follows_the_instance() -> None:
    model = RegressionModel()
    assert is_overridden("training_step", model)
    assert not is_overridden("training_epoch_end", model)
    assert not is_overridden("no_such_hook", model)
    model.validation_step = None  # type: ignore[assignment,method-assign]
    assert not is_overridden("validation_step", model)
    model.training_epoch_end = lambda outputs: None  # type: ignore[method-assign]
    assert is_overridden("training_epoch_end", model)

    class DataModule(pl.LightningDataModule):
        def train_dataloader(self) -> DataLoader:
            return loader()

    assert is_overridden("train_dataloader", DataModule())
    assert not is_overridden("val_dataloader", DataModule())


def test_auto_move_data_moves_inputs_through_transfer_batch_to_device() -> None:
    moved: list[Any] = []

    class Module(RegressionModel):
        def transfer_batch_to_device(self, batch: Any, device: torch.device) -> Any:
            moved.append(device)
            return super().transfer_batch_to_device(batch, device)

        @auto_move_data
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.net(x)

    out = Module()(torch.zeros(2, 4))
    assert out.shape == (2, 1)
    assert moved == [torch.device("cpu")] * 2  # the positional and the keyword arguments

    class Plain:
        @auto_move_data
        def double(self, x: int) -> int:
            return 2 * x

    assert Plain().double(3) == 6


@pytest.mark.parametrize(
    "flag",
    [
        "limit_train_batches",
        "limit_val_batches",
        "limit_test_batches",
        "val_check_interval",
        "overfit_batches",
    ],
)
@pytest.mark.parametrize("value", [-0.1, 1.2])
def test_a_batch_limit_that_is_neither_a_fraction_nor_a_count_fails_at_construction(
    tmp_path: Any, flag: str, value: float
) -> None:
    with pytest.raises(MisconfigurationException, match=f"passed invalid value {value} for {flag}"):
        quiet_trainer(tmp_path, **{flag: value})


def test_a_whole_float_batch_limit_is_a_count(tmp_path: Any) -> None:
    trainer = quiet_trainer(tmp_path, logger=False, limit_test_batches=1e50)
    trainer.test(Recording())
    assert trainer.num_test_batches == [2]  # every batch of the 2-batch loader
    trainer = quiet_trainer(tmp_path, logger=False, limit_test_batches=1.0)
    trainer.test(Recording())
    assert trainer.num_test_batches == [2]  # 1.0 stays the whole loader, not one batch


@pytest.mark.parametrize(
    "flags", [{"val_check_interval": 0.5}, {"limit_train_batches": 0.5}], ids=["interval", "limit"]
)
def test_a_fraction_of_an_endless_loader_names_the_iterable_dataset(
    tmp_path: Any, flags: dict[str, Any]
) -> None:
    trainer = quiet_trainer(tmp_path, logger=False, **flags)
    with pytest.raises(MisconfigurationException, match="When using an IterableDataset"):
        trainer.fit(RegressionModel(), DataLoader(Endless(), batch_size=4))


def test_fit_and_test_name_the_loaders_with_few_workers(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("trainer_core.trainer.data_loading.multiprocessing.cpu_count", lambda: 8)
    trainer = quiet_trainer(tmp_path, logger=False, max_steps=1, limit_val_batches=1)
    with pytest.warns(UserWarning) as caught:
        trainer.fit(RegressionModel(), loader(), loader())
        trainer.test(RegressionModel(), loader())
    messages = [str(w.message) for w in caught if "does not have many workers" in str(w.message)]
    assert [m.split(",")[1].strip() for m in messages] == [
        "train dataloader",
        "val dataloader 0",
        "test dataloader 0",
    ]
    assert "(try 8 which is the number of cpus on this machine)" in messages[0]


def test_few_workers_is_not_reported_on_a_two_cpu_machine(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, recwarn: pytest.WarningsRecorder
) -> None:
    monkeypatch.setattr("trainer_core.trainer.data_loading.multiprocessing.cpu_count", lambda: 2)
    quiet_trainer(tmp_path, logger=False, max_steps=1).fit(RegressionModel(), loader())
    assert not [w for w in recwarn if "does not have many workers" in str(w.message)]


def test_fit_warns_about_an_iterable_dataset_with_a_length(tmp_path: Any) -> None:
    class Sized(Endless):
        def __len__(self) -> int:
            return 8

    trainer = quiet_trainer(tmp_path, logger=False, max_steps=2)
    with pytest.warns(UserWarning, match="`IterableDataset` has `__len__` defined"):
        trainer.fit(RegressionModel(), DataLoader(Sized(), batch_size=2))


class Scheduled(RegressionModel):
    """configure_optimizers returns whatever `self.config(optimizer)` builds."""

    def __init__(self, config: Any) -> None:
        super().__init__()
        self.config = config

    def configure_optimizers(self) -> Any:
        return self.config(torch.optim.SGD(self.parameters(), lr=0.01))


def test_unknown_lr_scheduler_keys_are_ignored_with_a_runtime_warning(tmp_path: Any) -> None:
    model = Scheduled(
        lambda opt: {
            "optimizer": opt,
            "lr_scheduler": {"scheduler": torch.optim.lr_scheduler.StepLR(opt, 1), "foo": 1},
        }
    )
    trainer = quiet_trainer(tmp_path, logger=False, max_steps=2)
    with pytest.warns(
        RuntimeWarning, match=r"unsupported keys in the lr scheduler dict: \['foo'\]"
    ):
        trainer.fit(model, loader())
    assert trainer.global_step == 2


def test_a_scheduler_dict_without_a_scheduler_and_an_unknown_return_are_named(
    tmp_path: Any,
) -> None:
    trainer = quiet_trainer(tmp_path, logger=False, max_steps=1)
    with pytest.raises(MisconfigurationException, match='must have the key "scheduler"'):
        trainer.fit(Scheduled(lambda opt: {"optimizer": opt, "lr_scheduler": {}}), loader())
    with pytest.raises(
        MisconfigurationException, match="Unknown configuration for model optimizers"
    ):
        trainer.fit(Scheduled(lambda opt: 1), loader())


def test_reduce_on_plateau_without_its_metric(tmp_path: Any) -> None:
    def plateau(strict: bool) -> Any:
        return lambda opt: {
            "optimizer": opt,
            "lr_scheduler": {
                "scheduler": torch.optim.lr_scheduler.ReduceLROnPlateau(opt),
                "monitor": "giraffe",
                "strict": strict,
            },
        }

    trainer = quiet_trainer(tmp_path, logger=False, max_epochs=1)
    with pytest.raises(
        MisconfigurationException,
        match=r"conditioned on metric 'giraffe' which is not available\. Available metrics are:",
    ):
        trainer.fit(Scheduled(plateau(strict=True)), loader(), loader())
    trainer = quiet_trainer(tmp_path, logger=False, max_epochs=1)
    with pytest.warns(RuntimeWarning, match="not available but strict is set to False"):
        trainer.fit(Scheduled(plateau(strict=False)), loader(), loader())
    with pytest.raises(MisconfigurationException, match="must include a monitor when a"):
        quiet_trainer(tmp_path, logger=False).fit(
            Scheduled(
                lambda opt: {
                    "optimizer": opt,
                    "lr_scheduler": torch.optim.lr_scheduler.ReduceLROnPlateau(opt),
                }
            ),
            loader(),
        )


def test_trainer_lr_schedulers_compare_equal_to_1_0s_dicts(tmp_path: Any) -> None:
    model = Scheduled(
        lambda opt: {
            "optimizer": opt,
            "lr_scheduler": torch.optim.lr_scheduler.ReduceLROnPlateau(opt),
            "monitor": "val_loss",
        }
    )
    trainer = quiet_trainer(tmp_path, logger=False, max_epochs=1)
    trainer.fit(model, loader(), loader())
    config = trainer.lr_schedulers[0]
    assert config == {
        "scheduler": config["scheduler"],
        "monitor": "val_loss",
        "interval": "epoch",
        "frequency": 1,
        "reduce_on_plateau": True,
        "strict": True,
    }
    assert config != {"scheduler": config["scheduler"]}


def test_a_datamodule_builds_its_command_line_from_its_constructor() -> None:
    class DataModule(pl.LightningDataModule):
        # real annotations (no postponed evaluation), as in most user code
        def __init__(self, data_dir: str = "./", batch_size: int = 32, pin: bool = False):
            super().__init__()
            self.data_dir, self.batch_size, self.pin = data_dir, batch_size, pin

    parser = DataModule.add_argparse_args(ArgumentParser())
    args = parser.parse_args(["--data_dir", "./my_data", "--batch_size", "4", "--pin"])
    dm = DataModule.from_argparse_args(args, batch_size=8)
    assert (dm.data_dir, dm.batch_size, dm.pin) == ("./my_data", 8, True)
    assert DataModule.get_init_arguments_and_types() == [
        ("data_dir", "str", "./"),
        ("batch_size", "int", 32),
        ("pin", "bool", False),
    ]


def test_no_optimizer_is_announced_as_1_0_words_it(tmp_path: Any) -> None:
    with pytest.warns(UserWarning, match="will run with no optimizer"):
        quiet_trainer(tmp_path, logger=False, max_steps=1).fit(
            Scheduled(lambda opt: None), loader()
        )


def test_pl_trainer_environment_variables_override_the_constructor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    trainer = pl.Trainer(False, max_steps=42)  # 1.0: flags may come positionally, logger first
    assert trainer.logger is None
    assert trainer.max_steps == 42
    monkeypatch.setenv("PL_TRAINER_LOGGER", "False")
    monkeypatch.setenv("PL_TRAINER_MAX_STEPS", "7")
    trainer = pl.Trainer()
    assert trainer.logger is None
    assert trainer.max_steps == 7
    monkeypatch.setenv("PL_TRAINER_LOGGER", "True")
    trainer = pl.Trainer(False, max_steps=42)  # the environment wins over both
    assert trainer.logger is not None
    assert trainer.max_steps == 7
    assert vars(pl.Trainer.match_env_arguments()) == {"logger": True, "max_steps": 7}


def test_environment_flag_values_read_as_literals_and_run_no_code(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setenv("PL_TRAINER_DEFAULT_ROOT_DIR", str(tmp_path))
    monkeypatch.setenv("PL_TRAINER_LIMIT_VAL_BATCHES", "0.5")
    monkeypatch.setenv("PL_TRAINER_WEIGHTS_SUMMARY", "__import__('os').getcwd()")
    flags = vars(pl.Trainer.match_env_arguments())
    assert flags["default_root_dir"] == str(tmp_path)  # not a literal: the text itself
    assert flags["limit_val_batches"] == 0.5
    assert flags["weights_summary"] == "__import__('os').getcwd()"  # never evaluated


@pytest.mark.parametrize(
    ("schedule", "error"),
    [
        ({-1: 3, 1: 4, 4: 6}, IndexError),
        ({-2: 3}, IndexError),
        ({}, TypeError),
        ([[2, 3], [4, 6]], TypeError),
        ({1: 2, 3.0: 4}, TypeError),
        ({1: 2.5, 3: 5}, TypeError),
    ],
)
def test_a_malformed_accumulation_schedule_fails_as_in_1_0(schedule: Any, error: type) -> None:
    with pytest.raises(error):
        pl.Trainer(accumulate_grad_batches=schedule)


@pytest.mark.parametrize("method", ["training_step", "configure_optimizers"])
def test_fit_refuses_a_required_method_set_to_none(tmp_path: Any, method: str) -> None:
    model = RegressionModel()
    setattr(model, method, None)
    trainer = quiet_trainer(tmp_path, logger=False, checkpoint_callback=False)
    with pytest.raises(MisconfigurationException, match=f"{method} is None"):
        trainer.fit(model, loader(n=32))


def test_test_best_without_a_best_checkpoint_says_so_in_1_0s_words(tmp_path: Any) -> None:
    trainer = quiet_trainer(tmp_path, logger=False, checkpoint_callback=False)
    model = RegressionModel()
    trainer.fit(model, loader(n=32))
    with pytest.raises(MisconfigurationException, match="is not configured to save the best"):
        trainer.test(test_dataloaders=loader(n=32), ckpt_path="best")
