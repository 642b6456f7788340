"""`Trainer`: Lightning 1.0's Trainer for one process (CPU or one CUDA GPU).

`fit` reads as a short sequence: set up (data, strategy, optimizers, loggers, callbacks),
restore from a checkpoint if asked, sanity-check validation, then `fit_loop.run()`. The
trainer only wires configuration, connectors and loops together: the epoch, batch and
evaluation work lives in the loop classes of `trainer_core/trainer/loops/`, their position
in `loop_state`, checkpoint contents in `checkpointing.py`.
"""

from __future__ import annotations

import math
import os
from collections import deque
from typing import Any

import torch

from trainer_core.callbacks.base import Callback
from trainer_core.callbacks.model_checkpoint import ModelCheckpoint
from trainer_core.core.datamodule import LightningDataModule
from trainer_core.core.hparams import drop_unpicklable
from trainer_core.core.module import LightningModule
from trainer_core.exceptions import MisconfigurationException
from trainer_core.loggers.base import LightningLoggerBase
from trainer_core.precision import ScaledOptimizer, make_precision_plugin
from trainer_core.profiler import BaseProfiler, make_profiler
from trainer_core.strategies import Strategy, select_strategy
from trainer_core.trainer import checkpointing
from trainer_core.trainer.argparse_flags import TrainerArgparseMixin
from trainer_core.trainer.data_connector import TrainerDataConnector, require_fit_methods
from trainer_core.trainer.defaults import build_callbacks, build_logger
from trainer_core.trainer.env_flags import overwrite_by_env_vars
from trainer_core.trainer.flags import TrainerFlagGuard, validate_flags
from trainer_core.trainer.hook_dispatch import HookDispatch
from trainer_core.trainer.hooks import HookDispatcher, HookTable, positional_arity
from trainer_core.trainer.logged_results import ResultStore
from trainer_core.trainer.loop_state import LoopState, StopRequest
from trainer_core.trainer.loops import EvaluationLoop, FitLoop
from trainer_core.trainer.optimizers import SchedulerConfig, parse_configure_optimizers
from trainer_core.trainer.properties import TrainerProperties
from trainer_core.trainer.run_control import TrainerRunControl
from trainer_core.trainer.states import TrainerState
from trainer_core.trainer.testing_stage import TrainerTesting
from trainer_core.trainer.tuning import TrainerTuning
from trainer_core.trainer.view import TrainerRankResults


class Trainer(
    HookDispatch,
    TrainerProperties,
    TrainerRunControl,
    TrainerDataConnector,
    TrainerTesting,
    TrainerArgparseMixin,
    TrainerTuning,
    TrainerRankResults,
    TrainerFlagGuard,
):
    """Runs a LightningModule's training, validation and test loops.

    Unknown keyword arguments are refused with the closest known flag name.
    """

    @overwrite_by_env_vars
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
        profiler: BaseProfiler | bool | str | None = None,
        benchmark: bool = False,
        deterministic: bool = False,
        reload_dataloaders_every_epoch: bool = False,
        auto_lr_find: bool | str = False,
        replace_sampler_ddp: bool = True,
        terminate_on_nan: bool = False,
        auto_scale_batch_size: bool | str = False,
        prepare_data_per_node: bool = True,
        plugins: Any = None,
        amp_backend: str = "native",
        amp_level: str = "O2",
        distributed_backend: str | None = None,
        automatic_optimization: bool | None = None,
        devices: int | str | list[int] | None = None,
    ) -> None:
        validate_flags(locals())

        self.strategy: Strategy = select_strategy(
            accelerator, gpus, devices, num_processes, num_nodes, distributed_backend
        )
        self.strategy.precision_plugin = make_precision_plugin(precision, self.strategy.root_device)
        self.precision = precision
        self.profiler = make_profiler(profiler)

        self.fast_dev_run = bool(fast_dev_run)
        if self.fast_dev_run:
            max_epochs, max_steps = 1, None
            limit_train_batches = limit_val_batches = limit_test_batches = 1
            num_sanity_val_steps = 0
            val_check_interval = 1.0
        if overfit_batches > 0:
            limit_train_batches = limit_val_batches = overfit_batches
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
        self.num_processes = num_processes
        self.num_nodes = num_nodes
        self.track_grad_norm = track_grad_norm
        self.truncated_bptt_steps = truncated_bptt_steps
        self.overfit_batches = overfit_batches
        self.auto_lr_find = auto_lr_find  # read by tune()
        self.auto_scale_batch_size = auto_scale_batch_size
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
        self.batch_idx = 0  # the training batch of the current epoch
        self.should_stop = False
        self.running_sanity_check = False
        self.testing = False
        self.interrupted = False
        self._state = TrainerState.INITIALIZING
        self.num_training_batches: float = 0.0
        self.val_check_batch: float = math.inf
        self.loop_state = LoopState()  # the loop's position; checkpoints save it whole
        self.stop_reason = ""  # "preemption" when fit stopped at a requested checkpoint
        self.preemption_checkpoint_path = ""
        self.tested_ckpt_path: str | None = None  # the checkpoint the last test() loaded
        self._stop_request = StopRequest()
        self._train_loader_source: Any = None  # what fit() was given, for reloading
        self.num_val_batches: list[float] = []
        self.num_test_batches: list[float] = []
        self.train_dataloader: Any = None
        self.val_dataloaders: list[Any] = []
        self.test_dataloaders: list[Any] = []
        self.optimizers: list[torch.optim.Optimizer] = []
        # what self.optimizers() hands out: the optimizers, or under precision=16 with manual
        # optimization the same ones stepping through the loss scaler (see loops/manual.py)
        self.stepping_optimizers: list[Any] = []
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
        self._restored_metrics: dict[str, float] = {}
        self._pending_rng_states: dict[str, Any] | None = None
        self._hooks: HookDispatcher | None = None  # built per fit/test, for its module
        self.fit_loop = FitLoop(self)
        self.test_loop = EvaluationLoop(self, "test")

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
        require_fit_methods(model)
        self.state = TrainerState.RUNNING
        with self._run_guard(), self._determinism():
            self._call_prepare_data(model, datamodule)
            self._call_setup("fit")
            self.strategy.setup_environment()
            self.strategy.setup(self, model)
            self._init_optimizers(model)
            self._resolve_fit_loaders(model, train_dataloader, val_dataloaders, datamodule)
            self._call_hook("on_fit_start")
            drop_unpicklable(model.hparams, model.hparams_initial)
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
            self.fit_loop.run()
            self._call_hook("on_fit_end")
            self._call_teardown("fit")
        if self.state == TrainerState.RUNNING:
            self.state = TrainerState.FINISHED
        return 1

    def _attach(self, model: LightningModule, datamodule: Any, stage: str) -> None:
        self.model = model
        model.trainer = self
        model.precision = self.precision
        self.datamodule = datamodule
        if datamodule is not None:
            datamodule.trainer = self
            model.datamodule = datamodule
        self._hooks = HookDispatcher(self, self.callbacks, model, LightningModule)
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
        self.setup(module, stage)
        module.setup(stage)

    def _init_optimizers(self, model: LightningModule) -> None:
        setup = parse_configure_optimizers(model.configure_optimizers())
        self.optimizers = setup.optimizers
        self.lr_schedulers = setup.schedulers
        self.optimizer_frequencies = setup.frequencies
        self.stepping_optimizers = []
        if model.automatic_optimization and len(self.optimizers) > 1:
            arity = positional_arity(model.training_step)
            if arity < 3:
                raise MisconfigurationException(
                    f"configure_optimizers returned {len(self.optimizers)} optimizers, so training_step must take "
                    "(batch, batch_idx, optimizer_idx)."
                )

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
        self.fit_loop.epoch_loop.val_loop.run(self.val_dataloaders, limits)
        # sanity results must not reach loggers or callbacks
        self._callback_metrics, self._progress_bar_metrics, self.logged_metrics = saved
        self._call_callbacks("on_sanity_check_end")
        self.running_sanity_check = False

    # --- used by the loops -------------------------------------------------------------------
    def _log_to_logger(self, metrics: dict[str, Any], step: int, add_epoch: bool = True) -> None:
        """Send `metrics` as floats (plus 'epoch', unless `add_epoch` is False) as one row at
        `step` (Lightning 1.0 sends every batch of an accumulation window as its own row at the
        same step)."""
        if self.logger is None or not metrics or not self.is_global_zero:
            return
        scalars = {
            k: (v.item() if isinstance(v, torch.Tensor) else float(v)) for k, v in metrics.items()
        }
        if "step" in scalars:  # 1.0: a logged 'step' value is the row's x-axis, not a metric
            step = int(scalars.pop("step"))
        elif add_epoch:
            scalars["epoch"] = float(self.current_epoch)
        self.logged_metrics.update(scalars)
        self.logger.agg_and_log_metrics(scalars, step)
        self.logger.flush_aggregated()

    def _manual_backward(
        self, loss: torch.Tensor, optimizer: Any, *args: Any, **kwargs: Any
    ) -> None:
        if isinstance(optimizer, ScaledOptimizer):
            optimizer = optimizer.optimizer  # the scaler tracks the optimizer itself
        idx = self.optimizers.index(optimizer) if optimizer in self.optimizers else 0
        self.strategy.backward(loss, optimizer, idx, *args, **kwargs)
        if self.gradient_clip_val > 0 and optimizer is not None:
            self.strategy.clip_gradients(optimizer, self.gradient_clip_val)

    # --- checkpoints --------------------------------------------------------------------------
    def save_checkpoint(self, filepath: str, weights_only: bool = False) -> None:
        """Write a checkpoint of the current state to `filepath` (rank 0 only)."""
        checkpoint = checkpointing.dump_checkpoint(self, weights_only)
        self.strategy.save_checkpoint(checkpoint, os.fspath(filepath))
        self.strategy.barrier("save_checkpoint")
        if self.is_global_zero:
            self._call_callbacks("on_checkpoint_saved", os.fspath(filepath))

    def remove_checkpoint(self, filepath: str) -> None:
        """Delete a checkpoint file (rank 0) and announce it with `on_checkpoint_removed`."""
        self.strategy.remove_checkpoint(os.fspath(filepath))
        if self.is_global_zero:
            self._call_callbacks("on_checkpoint_removed", os.fspath(filepath))

    def _restore(self, path: str) -> None:
        checkpoint = checkpointing.load_checkpoint_file(path, self.root_device)
        checkpointing.restore_training_state(self, checkpoint, source=path)
        self._pending_rng_states = checkpoint.get("rng_states")
