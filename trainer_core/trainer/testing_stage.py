"""`Trainer.test`: the test loop over the fitted (or best checkpointed) or given model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from trainer_core.core.datamodule import LightningDataModule
from trainer_core.core.module import LightningModule, load_module_state
from trainer_core.exceptions import MisconfigurationException
from trainer_core.trainer import checkpointing
from trainer_core.trainer.data import as_loader_list, limited_batches
from trainer_core.trainer.data_connector import overrides, overrides_dm
from trainer_core.trainer.data_loading import check_loader, spawning
from trainer_core.trainer.states import TrainerState

if TYPE_CHECKING:
    from trainer_core.trainer.trainer import Trainer


class TrainerTesting:
    """Mixed into `Trainer`: `test()`."""

    # --- test ---------------------------------------------------------------------------------
    def test(
        self,
        model: LightningModule | None = None,
        test_dataloaders: Any = None,
        ckpt_path: str | None = "best",
        verbose: bool = True,
        datamodule: LightningDataModule | None = None,
    ) -> list[dict[str, float]]:
        """Run the test loop; returns one dict of test-logged values per test dataloader.

        With no model, tests the fitted model, loading the best ModelCheckpoint weights when
        `ckpt_path='best'` (or the given path; None keeps the current weights).
        """
        trainer = cast("Trainer", self)
        if model is None:
            model = trainer.model
            if model is None:
                raise MisconfigurationException(
                    "test() without a model needs a fitted trainer; pass model=... ."
                )
            if ckpt_path is not None:
                path = ckpt_path
                if ckpt_path == "best":
                    callback = trainer.checkpoint_callback
                    path = callback.best_model_path if callback is not None else ""
                    if not path:
                        raise MisconfigurationException(
                            'ckpt_path is "best", but ModelCheckpoint is not configured to save the best model '
                            "(no best checkpoint yet); pass ckpt_path=None to test the current weights."
                        )
                trainer.tested_ckpt_path = path  # which weights test() used (Lightning 1.0)
                checkpoint = checkpointing.load_checkpoint_file(path, trainer.root_device)
                load_module_state(model, checkpoint["state_dict"], strict=True, source=path)
        if datamodule is None:
            datamodule = trainer.datamodule if model is trainer.model else None
        if not isinstance(model, LightningModule):
            raise MisconfigurationException(
                f"test() needs a trainer_core LightningModule, got {type(model).__name__}."
            )
        return trainer.strategy.launch(
            trainer._run_test, model, test_dataloaders, verbose, datamodule
        )

    def _run_test(
        self, model: LightningModule, test_dataloaders: Any, verbose: bool, datamodule: Any
    ) -> list[dict[str, float]]:
        trainer = cast("Trainer", self)
        trainer._attach(model, datamodule, stage="test")
        if not overrides(model, "test_step"):
            raise MisconfigurationException(
                f"{type(model).__name__} has no test_step(); implement it to run test()."
            )
        results: list[dict[str, float]] = []
        trainer.state = TrainerState.RUNNING
        with trainer._run_guard():
            trainer._call_prepare_data(model, datamodule)
            trainer._call_setup("test")
            trainer.strategy.setup_environment()
            trainer.strategy.setup(trainer, model)
            # Lightning 1.0 tests through fit's routine: its start and end hooks run here too
            trainer._call_hook("on_fit_start")
            if trainer.logger is not None and trainer.is_global_zero:
                # as in 1.0, a test run records the hyperparameters it ran with too
                trainer.logger.log_hyperparams(model.hparams_initial or model.hparams)
                trainer.logger.save()
            trainer._call_hook("on_pretrain_routine_start")
            trainer._call_hook("on_pretrain_routine_end")
            if test_dataloaders is None:
                source = (
                    datamodule
                    if datamodule is not None and overrides_dm(datamodule, "test_dataloader")
                    else model
                )
                request = getattr(source, "test_dataloader", None)  # None: switched off
                test_dataloaders = request() if callable(request) else None
            loaders = [
                trainer.strategy.process_dataloader(t, is_train=False)
                for t in as_loader_list(test_dataloaders)
            ]
            if not loaders:
                raise MisconfigurationException(
                    "No test data: implement test_dataloader() or pass test_dataloaders=..."
                )
            trainer.test_dataloaders = loaders
            for idx, test_loader in enumerate(loaders):
                check_loader(test_loader, f"test dataloader {idx}", spawning(trainer))
            trainer.num_test_batches = [
                limited_batches(t, trainer.limit_test_batches, "limit_test_batches")
                for t in loaders
            ]
            # limit_test_batches=0: no test hooks and no test_epoch_end (on zero outputs) at all
            skip = sum(trainer.num_test_batches) == 0
            results = [] if skip else trainer.test_loop.run(loaders, trainer.num_test_batches)
            trainer._call_hook("on_fit_end")
            trainer._call_teardown("test")
        trainer.testing = False
        if trainer.state == TrainerState.RUNNING:
            trainer.state = TrainerState.FINISHED
        if verbose and trainer.is_global_zero:
            for idx, result in enumerate(results):
                print(f"TEST RESULTS (dataloader {idx}): {result}")
        return results
