"""What a checkpoint holds, and putting it back.

A checkpoint holds everything needed to resume exactly, made only of tensors and builtin
values so `torch.load(path, weights_only=True)` opens it without running code:
`epoch` (index of the epoch it was taken in), `global_step` (optimizer steps done),
`state_dict`, `optimizer_states`, `lr_schedulers`, `precision_state` (the AMP scaler),
`callbacks` (keyed by each callback's `state_key` string), `hyper_parameters`,
`hparams_name`, `rng_states` and `loops` (what the epoch-end still owed when it was taken).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from trainer_core.callbacks.base import Callback
from trainer_core.core.hparams import drop_unpicklable, is_config_container, plain_hparams
from trainer_core.core.module import load_module_state
from trainer_core.exceptions import CheckpointMismatchError
from trainer_core.trainer import mid_epoch
from trainer_core.trainer.hooks import positional_arity
from trainer_core.trainer.optimizers import step_epoch_schedulers
from trainer_core.utilities import cloud_io
from trainer_core.version import __version__

if TYPE_CHECKING:
    from trainer_core.trainer.trainer import Trainer


def rng_states() -> dict[str, Any]:
    kind, keys, pos, has_gauss, cached = np.random.get_state()  # type: ignore[misc]
    states: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    npst = states["numpy"]
    np.random.set_state(
        (
            npst["kind"],
            npst["keys"].numpy().astype(np.uint32),
            npst["pos"],
            npst["has_gauss"],
            npst["cached_gaussian"],
        )
    )
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def dump_checkpoint(trainer: Trainer, weights_only: bool = False) -> dict[str, Any]:
    module = trainer.lightning_module
    checkpoint: dict[str, Any] = {
        "epoch": trainer.current_epoch,
        # optimizer steps done, counting one that validation (1.0 order) runs before
        "global_step": trainer.global_step + int(trainer.loop_state.step_increment_pending),
        "trainer_core_version": __version__,
        "state_dict": trainer.strategy.model_state_dict(),
    }
    if not weights_only:
        checkpoint["optimizer_states"] = [opt.state_dict() for opt in trainer.optimizers]
        checkpoint["lr_schedulers"] = [cfg.scheduler.state_dict() for cfg in trainer.lr_schedulers]
        checkpoint["precision_state"] = trainer.strategy.precision_plugin.state_dict()
        checkpoint["callbacks"] = callback_states(trainer, checkpoint)
        checkpoint["rng_states"] = rng_states()
        checkpoint["loops"] = {
            **trainer.loop_state.state_dict(),
            "callback_metrics": {k: float(v) for k, v in trainer.callback_metrics.items()},
        }
        if trainer.loop_state.mid_epoch:
            checkpoint["loops"]["mid_epoch"] = mid_epoch.dump(trainer)
    if module.hparams:
        drop_unpicklable(module.hparams, module.hparams_initial)
        # the hyperparameters as they are now (1.0): a tuner's new learning rate or batch size,
        # a reassigned self.hparams; loggers keep the first ones (hparams_initial)
        saved = module.hparams
        checkpoint[module.CHECKPOINT_HYPER_PARAMS_KEY] = plain_hparams(saved)
        checkpoint[module.CHECKPOINT_HYPER_PARAMS_NAME] = module._hparams_name or "kwargs"
        if is_config_container(saved):
            checkpoint[module.CHECKPOINT_HYPER_PARAMS_TYPE] = type(saved).__name__
    datamodule = trainer.datamodule
    if datamodule is not None:
        datamodule.on_save_checkpoint(checkpoint)
    module.on_save_checkpoint(checkpoint)
    return checkpoint


def load_checkpoint_file(path: str, device: torch.device | str = "cpu") -> dict[str, Any]:
    """Open a checkpoint safely (weights_only=True) with a clear error for non-checkpoints."""
    try:
        checkpoint = cloud_io.load(path, map_location=device)
    except FileNotFoundError:
        raise
    except Exception as exc:
        raise CheckpointMismatchError(
            f"{path} could not be read as a checkpoint ({exc}). Point resume_from_checkpoint at a .ckpt file "
            "written by trainer_core."
        ) from exc
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise CheckpointMismatchError(
            f"{path} is not a trainer_core checkpoint (no 'state_dict'); use a .ckpt file it wrote."
        )
    return checkpoint


def restore_training_state(trainer: Trainer, checkpoint: dict[str, Any], source: str) -> None:
    """Weights, optimizers, schedulers, scaler, callbacks and counters (RNG comes later)."""
    module = trainer.lightning_module
    if "optimizer_states" not in checkpoint:
        raise CheckpointMismatchError(
            f"{source} holds weights only (saved with save_weights_only=True); resume needs a full checkpoint. "
            "Load the weights with Model.load_from_checkpoint instead."
        )
    module.on_load_checkpoint(checkpoint)
    if trainer.datamodule is not None:
        trainer.datamodule.on_load_checkpoint(checkpoint)
    load_module_state(module, checkpoint["state_dict"], strict=True, source=source)
    opt_states = checkpoint["optimizer_states"]
    if len(opt_states) != len(trainer.optimizers):
        raise CheckpointMismatchError(
            f"{source} has {len(opt_states)} optimizer states but configure_optimizers returned "
            f"{len(trainer.optimizers)} optimizers; resume with the configuration that wrote the checkpoint."
        )
    for optimizer, state in zip(trainer.optimizers, opt_states, strict=True):
        try:
            optimizer.load_state_dict(state)
        except (ValueError, KeyError) as exc:
            raise CheckpointMismatchError(
                f"{source}: optimizer state does not fit ({exc})."
            ) from exc
    sched_states = checkpoint.get("lr_schedulers", [])
    if len(sched_states) != len(trainer.lr_schedulers):
        raise CheckpointMismatchError(
            f"{source} has {len(sched_states)} lr scheduler states but configure_optimizers returned "
            f"{len(trainer.lr_schedulers)}; resume with the configuration that wrote the checkpoint."
        )
    for config, state in zip(trainer.lr_schedulers, sched_states, strict=True):
        config.scheduler.load_state_dict(state)
    trainer.strategy.precision_plugin.load_state_dict(checkpoint.get("precision_state", {}))
    restore_callback_states(trainer, checkpoint.get("callbacks", {}))
    trainer.global_step = int(checkpoint["global_step"])
    loops = checkpoint.get("loops", {})
    trainer._restored_metrics = dict(loops.get("callback_metrics", {}))
    if "mid_epoch" in loops:
        # taken at a step boundary inside the epoch: continue that epoch after its last batch
        trainer.current_epoch = int(checkpoint["epoch"])
        trainer.loop_state.load_state_dict(loops)
        mid_epoch.restore(trainer, loops["mid_epoch"], checkpoint.get("rng_states"))
        return
    trainer.current_epoch = int(checkpoint["epoch"]) + 1  # the checkpoint's epoch is done
    if loops.get("epoch_schedulers_pending"):
        # taken before the epoch-end scheduler step; finish that epoch's step now
        step_epoch_schedulers(
            trainer.lr_schedulers, int(checkpoint["epoch"]), trainer._restored_metrics
        )
        trainer.loop_state.epoch_schedulers_pending = False


def callback_states(trainer: Trainer, checkpoint: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each callback's `state_dict()` merged with what `on_save_checkpoint` returns."""
    states: dict[str, dict[str, Any]] = {}
    for cb in trainer.callbacks:
        state = dict(cb.state_dict())
        extra = _call_save_hook(cb, trainer, trainer.model, checkpoint)
        if extra:
            state.update(extra)
        if state:
            states[_unique_key(cb.state_key, states)] = state
    return states


def restore_callback_states(trainer: Trainer, states: dict[str, dict[str, Any]]) -> None:
    seen: dict[str, Any] = {}
    for cb in trainer.callbacks:
        key = _unique_key(cb.state_key, seen)
        seen[key] = True
        if key in states:
            cb.load_state_dict(states[key])
            _call_load_hook(cb, trainer, trainer.model, states[key])


def _unique_key(key: str, taken: dict[str, Any]) -> str:
    """Two callbacks of one class get `Key` and `Key#1`, in callback order."""
    if key not in taken:
        return key
    n = 1
    while f"{key}#{n}" in taken:
        n += 1
    return f"{key}#{n}"


def _call_save_hook(
    cb: Callback, trainer: Trainer, module: Any, checkpoint: dict[str, Any]
) -> dict[str, Any] | None:
    method: Any = cb.on_save_checkpoint
    # Lightning 1.0 callbacks define on_save_checkpoint(trainer, pl_module)
    return (
        method(trainer, module)
        if positional_arity(method) == 2
        else method(trainer, module, checkpoint)
    )


def _call_load_hook(cb: Callback, trainer: Trainer, module: Any, state: dict[str, Any]) -> None:
    method: Any = cb.on_load_checkpoint
    # Lightning 1.0 callbacks define on_load_checkpoint(checkpointed_state)
    if positional_arity(method) == 1:
        method(state)
    else:
        method(trainer, module, state)
