"""`Trainer`: Lightning 1.0's Trainer for one process (CPU or one CUDA GPU).

`fit` reads as a short sequence: set up (data, strategy, optimizers, loggers, callbacks),
restore from a checkpoint if asked, sanity-check validation, then `train_loop` epoch by
epoch. The per-epoch and per-batch work lives in `training_loop.py` and
`evaluation_loop.py`; checkpoint contents in `checkpointing.py`.
"""

from __future__ import annotations

import inspect
import math
import os
import warnings
from argparse import ArgumentParser, Namespace
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from trainer_core.callbacks.base import Callback
from trainer_core.callbacks.model_checkpoint import ModelCheckpoint
from trainer_core.callbacks.progress import ProgressBarBase
from trainer_core.core.datamodule import LightningDataModule
from trainer_core.core.module import LightningModule, load_module_state
from trainer_core.exceptions import MisconfigurationException
from trainer_core.loggers.base import LightningLoggerBase
from trainer_core.precision import make_precision_plugin
from trainer_core.strategies import Strategy, select_strategy
from trainer_core.trainer import argparse_flags, checkpointing, evaluation_loop, training_loop
from trainer_core.trainer.data import as_loader_list, limited_batches
from trainer_core.trainer.defaults import build_callbacks, build_logger
from trainer_core.trainer.flags import refuse_unknown_flags, validate_flags
from trainer_core.trainer.hooks import HookTable, positional_arity
from trainer_core.trainer.logged_results import ResultStore
from trainer_core.trainer.loop_state import LoopState, StopForCheckpoint, StopRequest
from trainer_core.trainer.optimizers import (
    SchedulerConfig,
    parse_configure_optimizers,
    step_scheduler,
)


class Trainer:
    """Runs a LightningModule's training, validation and test loops.

    Unknown keyword arguments are refused with the closest known flag name.
    """

    def __init__(
        self,
        logger: bool | LightningLoggerBase | list[LightningLoggerBase] | None = True,
        checkpoint_callback: bool | ModelCheckpoint = True,
        callbacks: list[Callback] | Callback | None = None,
        default_root_dir: str | None = None,
        gradient_clip_val: float = 0.0,
        process_position: int = 0,
        num_nodes: int = 1,
        num_processes: int = 1,
        gpus: int | str | list[int] | None = None,
        auto_select_gpus: bool = False,
        tpu_cores: Any = None,
        log_gpu_memory: str | None = None,
        progress_bar_refresh_rate: int = 1,
        overfit_batches: float = 0.0,
        track_grad_norm: int | float | str = -1,
        check_val_every_n_epoch: int = 1,
        fast_dev_run: bool = False,
        accumulate_grad_batches: int | dict[int, int] = 1,
        max_epochs: int = 1000,
        min_epochs: int = 1,
        max_steps: int | None = None,
        min_steps: int | None = None,
        limit_train_batches: int | float = 1.0,
        limit_val_batches: int | float = 1.0,
        limit_test_batches: int | float = 1.0,
        val_check_interval: int | float = 1.0,
        flush_logs_every_n_steps: int = 100,
        log_every_n_steps: int = 50,
        accelerator: str | None = None,
        sync_batchnorm: bool = False,
        precision: int | str = 32,
        weights_summary: str | None = "top",
        weights_save_path: str | None = None,
        num_sanity_val_steps: int = 2,
        truncated_bptt_steps: int | None = None,
        resume_from_checkpoint: str | None = None,
        profiler: Any = None,
        benchmark: bool = False,
        deterministic: bool = False,
        reload_dataloaders_every_epoch: bool = False,
        auto_lr_find: bool = False,
        replace_sampler_ddp: bool = True,
        terminate_on_nan: bool = False,
        auto_scale_batch_size: bool = False,
        prepare_data_per_node: bool = True,
        plugins: Any = None,
        amp_backend: str = "native",
        amp_level: str = "O2",
        distributed_backend: str | None = None,
        automatic_optimization: bool | None = None,
        devices: int | str | list[int] | None = None,
        **unknown: Any,
    ) -> None:
        if unknown:
            refuse_unknown_flags(
                unknown, list(inspect.signature(Trainer.__init__).parameters)[1:-1]
            )
        validate_flags(locals())

        self.strategy: Strategy = select_strategy(
            accelerator, gpus, devices, num_processes, num_nodes, distributed_backend
        )
        self.strategy.precision_plugin = make_precision_plugin(precision, self.strategy.root_device)
        self.precision = precision

        self.fast_dev_run = bool(fast_dev_run)
        if self.fast_dev_run:
            max_epochs, max_steps = 1, None
            limit_train_batches = limit_val_batches = limit_test_batches = 1
            num_sanity_val_steps = 0
            val_check_interval = 1.0
        self.max_epochs = max_epochs
        self.min_epochs = min_epochs
        self.max_steps = max_steps
        self.min_steps = min_steps
        self.limit_train_batches = limit_train_batches
        self.limit_val_batches = limit_val_batches
        self.limit_test_batches = limit_test_batches
        self.val_check_interval = val_check_interval
        self.check_val_every_n_epoch = check_val_every_n_epoch
        self.accumulate_grad_batches = accumulate_grad_batches
        self.gradient_clip_val = float(gradient_clip_val)
        self.log_every_n_steps = log_every_n_steps
        self.flush_logs_every_n_steps = flush_logs_every_n_steps
        self.num_sanity_val_steps = num_sanity_val_steps
        self.weights_summary = weights_summary
        self.resume_from_checkpoint = resume_from_checkpoint
        self.deterministic = deterministic
        self.benchmark = benchmark
        self.reload_dataloaders_every_epoch = reload_dataloaders_every_epoch
        self.terminate_on_nan = terminate_on_nan
        self.replace_sampler_ddp = replace_sampler_ddp
        self.prepare_data_per_node = prepare_data_per_node
        self.process_position = process_position
        self._automatic_optimization_flag = automatic_optimization
        self.default_root_dir = (
            os.fspath(default_root_dir) if default_root_dir is not None else os.getcwd()
        )
        self.weights_save_path = (
            os.fspath(weights_save_path) if weights_save_path is not None else self.default_root_dir
        )

        # loop state: explicit attributes (Lightning names)
        self.current_epoch = 0
        self.global_step = 0
        self.should_stop = False
        self.running_sanity_check = False
        self.testing = False
        self.interrupted = False
        self.state = "initializing"
        self.num_training_batches: float = 0.0
        self.val_check_batch: float = math.inf
        self.loop_state = LoopState()  # the loop's position; checkpoints save it whole
        self.stop_reason = ""  # "preemption" when fit stopped at a requested checkpoint
        self.preemption_checkpoint_path = ""
        self._stop_request = StopRequest()
        self._train_loader_source: Any = None  # what fit() was given, for reloading
        self.num_val_batches: list[float] = []
        self.num_test_batches: list[float] = []
        self.train_dataloader: Any = None
        self.val_dataloaders: list[Any] = []
        self.test_dataloaders: list[Any] = []
        self.optimizers: list[torch.optim.Optimizer] = []
        self.lr_schedulers: list[SchedulerConfig] = []
        self.optimizer_frequencies: list[int] = []
        self.datamodule: LightningDataModule | None = None
        self.model: LightningModule | None = None

        # metrics state; see callback_metrics for how the live train store joins in
        self._callback_metrics: dict[str, torch.Tensor] = {}
        self._progress_bar_metrics: dict[str, Any] = {}
        self.logged_metrics: dict[str, float] = {}
        self._train_results: ResultStore | None = None
        self._running_losses: deque[torch.Tensor] = deque(maxlen=20)
        self._epoch_outputs: list[Any] = []  # kept for training_epoch_end
        self._restored_metrics: dict[str, float] = {}
        self._pending_rng_states: dict[str, Any] | None = None
        self._hooks: HookTable | None = None

        self.logger = build_logger(logger, self.default_root_dir)
        self.callbacks = build_callbacks(
            callbacks, checkpoint_callback, progress_bar_refresh_rate, self.process_position
        )
        # these two hooks see only the trainer: there is no module yet
        init_hooks = HookTable(self.callbacks, None, LightningModule)
        for method in init_hooks.callback_methods("on_init_start"):
            method(self)
        for method in init_hooks.callback_methods("on_init_end"):
            method(self)

    @property
    def total_batch_idx(self) -> int:
        """Batches trained across epochs (optimizer frequencies count them)."""
        return self.loop_state.total_batch_idx

    @total_batch_idx.setter
    def total_batch_idx(self, value: int) -> None:
        self.loop_state.total_batch_idx = value

    def request_checkpoint_and_stop(self, reason: str = "preemption") -> None:
        """Ask a running `fit` to write a checkpoint at the next step boundary and stop.

        Safe to call from a signal handler or any thread (it only sets a flag; see
        `callbacks.PreemptionHandler` for SIGUSR1/SIGTERM). The checkpoint goes through the
        ModelCheckpoint callback (its `last.ckpt`, announced with `on_checkpoint_saved`;
        `preempted.ckpt` under weights_save_path without one) and holds the whole loop state,
        so `resume_from_checkpoint` continues exactly there. `fit` then returns normally
        with `state == "interrupted"` and `stop_reason == reason`.
        """
        self._stop_request.request(reason)

    def _stop_requested(self) -> bool:
        requested = self._stop_request.requested
        if self.world_size > 1:
            # every rank must stop at the same step, whichever of them got the signal
            requested = bool(self.strategy.reduce(torch.tensor(float(requested)), "max"))
        return requested

    def _checkpoint_and_stop(self) -> None:
        callback = self.checkpoint_callback
        if callback is not None:
            path = callback.save_for_resume(self, self.lightning_module)
        else:
            path = os.path.join(self.weights_save_path, "preempted.ckpt")
            self.save_checkpoint(path)
        self.preemption_checkpoint_path = path
        raise StopForCheckpoint(path)

    # --- command-line flags (Lightning 1.0's argparse integration) ---------------------------
    @classmethod
    def add_argparse_args(cls, parent_parser: ArgumentParser) -> ArgumentParser:
        return argparse_flags.add_argparse_args(cls, parent_parser)

    @classmethod
    def from_argparse_args(cls, args: Namespace | ArgumentParser, **kwargs: Any) -> Trainer:
        trainer: Trainer = argparse_flags.from_argparse_args(cls, args, **kwargs)
        return trainer

    @classmethod
    def parse_argparser(cls, arg_parser: ArgumentParser | Namespace) -> Namespace:
        return argparse_flags.parse_argparser(cls, arg_parser)

    @classmethod
    def get_init_arguments_and_types(cls) -> list[tuple[str, str, Any]]:
        return argparse_flags.init_arguments(cls)

    # --- identity and devices (all through the strategy) -------------------------------------
    @property
    def global_rank(self) -> int:
        return self.strategy.global_rank

    @property
    def local_rank(self) -> int:
        return self.strategy.local_rank

    @property
    def node_rank(self) -> int:
        return self.strategy.node_rank

    @property
    def world_size(self) -> int:
        return self.strategy.world_size

    @property
    def is_global_zero(self) -> bool:
        return self.strategy.is_global_zero

    @property
    def num_gpus(self) -> int:
        return self.strategy.num_gpus

    @property
    def root_device(self) -> torch.device:
        return self.strategy.root_device

    @property
    def on_gpu(self) -> bool:
        return self.root_device.type == "cuda"

    @property
    def lightning_module(self) -> LightningModule:
        if self.model is None:
            raise MisconfigurationException(
                "The trainer has no model yet; call trainer.fit(model) first."
            )
        return self.model

    @property
    def checkpoint_callback(self) -> ModelCheckpoint | None:
        for cb in self.callbacks:
            if isinstance(cb, ModelCheckpoint):
                return cb
        return None

    @property
    def checkpoint_callbacks(self) -> list[ModelCheckpoint]:
        return [cb for cb in self.callbacks if isinstance(cb, ModelCheckpoint)]

    @property
    def progress_bar_callback(self) -> ProgressBarBase | None:
        for cb in self.callbacks:
            if isinstance(cb, ProgressBarBase):
                return cb
        return None

    @property
    def log_dir(self) -> str:
        log_dir = getattr(self.logger, "log_dir", None) if self.logger is not None else None
        return log_dir or self.default_root_dir

    @property
    def disable_validation(self) -> bool:
        return not self.enable_validation

    @property
    def enable_validation(self) -> bool:
        """True when fit has a validation loop (a validation_step, a loader and batches)."""
        module = self.model
        return (
            module is not None
            and _overrides(module, "validation_step")
            and bool(self.val_dataloaders)
            and any(n > 0 for n in self.num_val_batches)
        )

    # --- metrics views ---------------------------------------------------------------------
    @property
    def callback_metrics(self) -> dict[str, torch.Tensor]:
        """Every logged value: the latest step values of this epoch and the last epoch values."""
        merged = dict(self._callback_metrics)
        if self._train_results is not None:
            merged.update(self._train_results.callback_step_metrics())
        return merged

    @callback_metrics.setter
    def callback_metrics(self, value: dict[str, Any]) -> None:
        self._callback_metrics = dict(value)

    @property
    def progress_bar_metrics(self) -> dict[str, Any]:
        merged = dict(self._progress_bar_metrics)
        if self._train_results is not None:
            merged.update(self._train_results.step_metrics(only_fresh=False, for_prog_bar=True))
        return merged

    @property
    def progress_bar_dict(self) -> dict[str, Any]:
        """What the progress bar shows: the module's items and the prog_bar metrics."""
        items = self.lightning_module.get_progress_bar_dict() if self.model is not None else {}
        for key, value in self.progress_bar_metrics.items():
            items[key] = value.item() if isinstance(value, torch.Tensor) else value
        return items

    def _running_loss_mean(self) -> float | None:
        if not self._running_losses:
            return None
        return torch.stack(list(self._running_losses)).float().mean().item()

    # --- hooks --------------------------------------------------------------------------------
    def _call_hook(self, name: str, *args: Any) -> Any:
        """Callbacks' `name(trainer, module, *args)`, then the module's `name(*args)`."""
        hooks = self._hooks
        assert hooks is not None
        module = self.model
        for method in hooks.callback_methods(name):
            method(self, module, *args)
        module_method = hooks.module_method(name)
        if module_method is not None:
            previous = module._current_fx_name  # type: ignore[union-attr]
            module._current_fx_name = name  # type: ignore[union-attr]
            try:
                return module_method(*args)
            finally:
                module._current_fx_name = previous  # type: ignore[union-attr]
        return None

    def _call_callbacks(self, name: str, *args: Any) -> None:
        assert self._hooks is not None
        for method in self._hooks.callback_methods(name):
            method(self, self.model, *args)

    # --- fit ----------------------------------------------------------------------------------
    def fit(
        self,
        model: LightningModule,
        train_dataloader: Any = None,
        val_dataloaders: Any = None,
        datamodule: LightningDataModule | None = None,
    ) -> int:
        """Train `model`; loaders passed here override the model's and the datamodule's."""
        if not isinstance(model, LightningModule):
            raise MisconfigurationException(
                f"fit() needs a trainer_core LightningModule, got {type(model).__name__}."
            )
        if datamodule is not None and (train_dataloader is not None or val_dataloaders is not None):
            raise MisconfigurationException(
                "Pass either dataloaders or a datamodule to fit(), not both."
            )
        if train_dataloader is not None and isinstance(train_dataloader, LightningDataModule):
            datamodule, train_dataloader = train_dataloader, None
        return self.strategy.launch(
            self._run_fit, model, train_dataloader, val_dataloaders, datamodule
        )

    def _run_fit(
        self, model: LightningModule, train_dataloader: Any, val_dataloaders: Any, datamodule: Any
    ) -> int:
        self._attach(model, datamodule, stage="fit")
        self.state = "running"
        with self._run_guard(), self._determinism():
            self._call_prepare_data(model, datamodule)
            self._call_setup("fit")
            self.strategy.setup_environment()
            self.strategy.setup(self, model)
            self._init_optimizers(model)
            self._resolve_fit_loaders(model, train_dataloader, val_dataloaders, datamodule)
            self._call_hook("on_fit_start")
            if self.logger is not None and self.is_global_zero:
                self.logger.log_hyperparams(model.hparams_initial or model.hparams)
                self.logger.log_graph(model)
                self.logger.save()
            self._call_hook("on_pretrain_routine_start")
            if self.weights_summary is not None and self.is_global_zero:
                print(model.summarize(self.weights_summary))
            if self.resume_from_checkpoint is not None:
                self._restore(self.resume_from_checkpoint)
            self._call_hook("on_pretrain_routine_end")
            self._run_sanity_check()
            if self._pending_rng_states is not None:
                # restored after the sanity check, which draws from the RNG too
                checkpointing.restore_rng_states(self._pending_rng_states)
                self._pending_rng_states = None
            training_loop.train(self)
            self._call_hook("on_fit_end")
            self._call_teardown("fit")
        if self.state == "running":
            self.state = "finished"
        return 1

    def _attach(self, model: LightningModule, datamodule: Any, stage: str) -> None:
        self.model = model
        model.trainer = self
        model.precision = self.precision
        self.datamodule = datamodule
        if datamodule is not None:
            datamodule.trainer = self
            model.datamodule = datamodule
        self._hooks = HookTable(self.callbacks, model, LightningModule)
        self.testing = stage == "test"

    def _call_prepare_data(self, model: LightningModule, datamodule: Any) -> None:
        if self.local_rank == 0 or not self.prepare_data_per_node:
            if datamodule is not None:
                datamodule.prepare_data()
            model.prepare_data()
        self.strategy.barrier("prepare_data")

    def _call_teardown(self, stage: str) -> None:
        self._call_callbacks("teardown", stage)
        self.lightning_module.teardown(stage)
        self.strategy.teardown()

    def _call_setup(self, stage: str) -> None:
        module = self.lightning_module
        if self.datamodule is not None:
            self.datamodule.setup(stage)
        self._call_callbacks("setup", stage)
        module.setup(stage)

    @contextmanager
    def _run_guard(self) -> Iterator[None]:
        """Finalize loggers with the run's outcome; re-raise user errors after that."""
        try:
            yield
        except StopForCheckpoint:
            self.interrupted = True
            self.state = "interrupted"
            self.stop_reason = self._stop_request.reason
            self._stop_request.clear()
            self._call_teardown("fit")
            self._finalize_loggers("interrupted")
            self._close_progress_bar()
            return
        except KeyboardInterrupt:
            # Lightning 1.0: Ctrl-C ends training gracefully; fit returns
            self.interrupted = True
            self.state = "interrupted"
            self._call_callbacks("on_keyboard_interrupt")
            self._finalize_loggers("interrupted")
            self._close_progress_bar()
            return
        except BaseException as exc:
            self.state = "failed"
            try:
                self._call_callbacks("on_exception", exc)
            finally:
                self._finalize_loggers("failed")
                self._close_progress_bar()
            raise
        self._finalize_loggers("success")

    def _close_progress_bar(self) -> None:
        bar = self.progress_bar_callback
        if bar is not None:
            bar.close()

    def _finalize_loggers(self, status: str) -> None:
        if self.logger is not None and self.is_global_zero:
            self.logger.finalize(status)

    @contextmanager
    def _determinism(self) -> Iterator[None]:
        """deterministic=True turns on torch's deterministic algorithms for the run only."""
        if not self.deterministic and not self.benchmark:
            yield
            return
        previous = (
            torch.are_deterministic_algorithms_enabled(),
            torch.backends.cudnn.deterministic,
            torch.backends.cudnn.benchmark,
        )
        if self.deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True)
            torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = self.benchmark and not self.deterministic
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(previous[0])
            torch.backends.cudnn.deterministic = previous[1]
            torch.backends.cudnn.benchmark = previous[2]

    def _init_optimizers(self, model: LightningModule) -> None:
        setup = parse_configure_optimizers(model.configure_optimizers())
        self.optimizers = setup.optimizers
        self.lr_schedulers = setup.schedulers
        self.optimizer_frequencies = setup.frequencies
        if not model.automatic_optimization and self.strategy.precision_plugin.uses_scaler:
            raise MisconfigurationException(
                "precision=16 with manual optimization is not supported: optimizers stepped by hand "
                "would bypass the loss scaler. Use precision='bf16' (no scaler needed) or automatic "
                "optimization."
            )
        if model.automatic_optimization and len(self.optimizers) > 1:
            arity = positional_arity(model.training_step)
            if arity < 3:
                raise MisconfigurationException(
                    f"configure_optimizers returned {len(self.optimizers)} optimizers, so training_step must take "
                    "(batch, batch_idx, optimizer_idx)."
                )

    def _resolve_fit_loaders(
        self, model: LightningModule, train_loader: Any, val_loaders: Any, datamodule: Any
    ) -> None:
        self.train_dataloader = self._request_train_loader(model, train_loader, datamodule)
        if val_loaders is None:
            source = (
                datamodule
                if datamodule is not None and _overrides_dm(datamodule, "val_dataloader")
                else model
            )
            val_loaders = source.val_dataloader() if _overrides(model, "validation_step") else None
        self.val_dataloaders = [
            self.strategy.process_dataloader(v, is_train=False) for v in as_loader_list(val_loaders)
        ]
        self.num_val_batches = [
            limited_batches(v, self.limit_val_batches, "limit_val_batches")
            for v in self.val_dataloaders
        ]
        self._train_loader_source = train_loader
        if (
            val_loaders is not None
            and not _overrides(model, "validation_step")
            and self.limit_val_batches
        ):
            warnings.warn(
                "Validation dataloaders were given but the model has no validation_step; skipping validation.",
                stacklevel=3,
            )

    def _request_train_loader(
        self, model: LightningModule, train_loader: Any, datamodule: Any
    ) -> Any:
        if train_loader is None:
            source = (
                datamodule
                if datamodule is not None and _overrides_dm(datamodule, "train_dataloader")
                else model
            )
            train_loader = source.train_dataloader()
        if train_loader is None:
            raise MisconfigurationException(
                "No training data: implement train_dataloader() in the model or datamodule, or pass "
                "trainer.fit(model, train_dataloader=...)."
            )
        loader = self.strategy.process_dataloader(train_loader, is_train=True)
        self.num_training_batches = limited_batches(
            loader, self.limit_train_batches, "limit_train_batches"
        )
        if isinstance(self.val_check_interval, int) and not isinstance(
            self.val_check_interval, bool
        ):
            self.val_check_batch = self.val_check_interval
            if self.val_check_batch > self.num_training_batches:
                raise MisconfigurationException(
                    f"val_check_interval={self.val_check_interval} is more than the {self.num_training_batches:g} training "
                    "batches per epoch; use a smaller int or a float fraction."
                )
        else:
            if math.isinf(self.num_training_batches):
                if self.val_check_interval != 1.0:
                    raise MisconfigurationException(
                        "A float val_check_interval needs a training dataloader with a length; pass an int."
                    )
                self.val_check_batch = math.inf
            else:
                self.val_check_batch = max(
                    1, int(self.num_training_batches * self.val_check_interval)
                )
        return loader

    def _run_sanity_check(self) -> None:
        if not self.enable_validation or self.num_sanity_val_steps == 0:
            return
        steps = math.inf if self.num_sanity_val_steps == -1 else self.num_sanity_val_steps
        self.running_sanity_check = True
        self._call_callbacks("on_sanity_check_start")
        limits = [min(n, steps) for n in self.num_val_batches]
        saved = (
            dict(self._callback_metrics),
            dict(self._progress_bar_metrics),
            dict(self.logged_metrics),
        )
        evaluation_loop.run(self, "validation", self.val_dataloaders, limits)
        # sanity results must not reach loggers or callbacks
        self._callback_metrics, self._progress_bar_metrics, self.logged_metrics = saved
        self._call_callbacks("on_sanity_check_end")
        self.running_sanity_check = False

    # --- epoch-level helpers used by the loops ------------------------------------------------
    def _step_epoch_schedulers(self, epoch: int, metrics: dict[str, Any]) -> None:
        for config in self.lr_schedulers:
            if config.interval == "epoch" and (epoch + 1) % config.frequency == 0:
                step_scheduler(config, metrics)
        self.loop_state.epoch_schedulers_pending = False

    def _log_to_logger(self, metrics: dict[str, Any], step: int) -> None:
        """Send `metrics` as floats (plus 'epoch') as one row at `step` (Lightning 1.0 sends
        every batch of an accumulation window as its own row at the same step)."""
        if self.logger is None or not metrics or not self.is_global_zero:
            return
        scalars = {
            k: (v.item() if isinstance(v, torch.Tensor) else float(v)) for k, v in metrics.items()
        }
        scalars["epoch"] = float(self.current_epoch)
        self.logged_metrics.update(scalars)
        self.logger.agg_and_log_metrics(scalars, step)
        self.logger.flush_aggregated()

    def _manual_backward(
        self, loss: torch.Tensor, optimizer: Any, *args: Any, **kwargs: Any
    ) -> None:
        idx = self.optimizers.index(optimizer) if optimizer in self.optimizers else 0
        self.strategy.backward(loss, optimizer, idx, *args, **kwargs)
        if self.gradient_clip_val > 0 and optimizer is not None:
            self.strategy.clip_gradients(optimizer, self.gradient_clip_val)

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
        if model is None:
            model = self.model
            if model is None:
                raise MisconfigurationException(
                    "test() without a model needs a fitted trainer; pass model=... ."
                )
            if ckpt_path is not None:
                path = ckpt_path
                if ckpt_path == "best":
                    callback = self.checkpoint_callback
                    path = callback.best_model_path if callback is not None else ""
                    if not path:
                        raise MisconfigurationException(
                            "test(ckpt_path='best') found no best checkpoint; pass ckpt_path=None to test the current "
                            "weights, or enable ModelCheckpoint."
                        )
                checkpoint = checkpointing.load_checkpoint_file(path, self.root_device)
                load_module_state(model, checkpoint["state_dict"], strict=True, source=path)
        if datamodule is None:
            datamodule = self.datamodule if model is self.model else None
        if not isinstance(model, LightningModule):
            raise MisconfigurationException(
                f"test() needs a trainer_core LightningModule, got {type(model).__name__}."
            )
        return self.strategy.launch(self._run_test, model, test_dataloaders, verbose, datamodule)

    def _run_test(
        self, model: LightningModule, test_dataloaders: Any, verbose: bool, datamodule: Any
    ) -> list[dict[str, float]]:
        self._attach(model, datamodule, stage="test")
        if not _overrides(model, "test_step"):
            raise MisconfigurationException(
                f"{type(model).__name__} has no test_step(); implement it to run test()."
            )
        results: list[dict[str, float]] = []
        with self._run_guard():
            self._call_prepare_data(model, datamodule)
            self._call_setup("test")
            self.strategy.setup_environment()
            self.strategy.setup(self, model)
            if test_dataloaders is None:
                source = (
                    datamodule
                    if datamodule is not None and _overrides_dm(datamodule, "test_dataloader")
                    else model
                )
                test_dataloaders = source.test_dataloader()
            loaders = [
                self.strategy.process_dataloader(t, is_train=False)
                for t in as_loader_list(test_dataloaders)
            ]
            if not loaders:
                raise MisconfigurationException(
                    "No test data: implement test_dataloader() or pass test_dataloaders=..."
                )
            self.test_dataloaders = loaders
            self.num_test_batches = [
                limited_batches(t, self.limit_test_batches, "limit_test_batches") for t in loaders
            ]
            results = evaluation_loop.run(self, "test", loaders, self.num_test_batches)
            self._call_teardown("test")
        self.testing = False
        if verbose and self.is_global_zero:
            for idx, result in enumerate(results):
                print(f"TEST RESULTS (dataloader {idx}): {result}")
        return results

    # --- checkpoints --------------------------------------------------------------------------
    def save_checkpoint(self, filepath: str, weights_only: bool = False) -> None:
        """Write a checkpoint of the current state to `filepath` (rank 0 only)."""
        checkpoint = checkpointing.dump_checkpoint(self, weights_only)
        self.strategy.save_checkpoint(checkpoint, os.fspath(filepath))
        self.strategy.barrier("save_checkpoint")
        if self.is_global_zero:
            self._call_callbacks("on_checkpoint_saved", os.fspath(filepath))

    def _restore(self, path: str) -> None:
        checkpoint = checkpointing.load_checkpoint_file(path, self.root_device)
        checkpointing.restore_training_state(self, checkpoint, source=path)
        self._pending_rng_states = checkpoint.get("rng_states")


def _overrides(module: LightningModule, name: str) -> bool:
    return getattr(type(module), name) is not getattr(LightningModule, name)


def _overrides_dm(datamodule: Any, name: str) -> bool:
    return getattr(type(datamodule), name, None) is not getattr(LightningDataModule, name)
