"""What a checkpoint taken inside an epoch holds beyond an epoch-end one, and putting it back.

At a step boundary inside an epoch the loop still holds: this epoch's logged values (the
epoch means are not taken yet), metric objects' accumulated state, the outputs kept for
`training_epoch_end`, gradients of an accumulation window that has not stepped yet, and the
running loss of the progress bar. All are tensors and builtin values, so the checkpoint still
loads with `torch.load(weights_only=True)`. The training loop applies them to the first
resumed epoch (`LoopState.resume_payload`), after re-creating the epoch's shuffle order from
`LoopState.epoch_start_rng` and skipping the batches already trained.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from trainer_core.trainer.step_outputs import EpochOutputs
    from trainer_core.trainer.trainer import Trainer


def dump(trainer: Trainer) -> dict[str, Any]:
    module = trainer.lightning_module
    store = trainer._train_results
    state: dict[str, Any] = {
        "train_results": store.state_dict(module) if store is not None else {},
        "epoch_outputs": list(trainer.fit_loop.epoch_loop.outputs.for_epoch_end),
        "epoch_output_optimizers": list(trainer.fit_loop.epoch_loop.outputs.epoch_end_optimizers),
        "running_losses": list(trainer._running_losses),
        "grads": {
            name: param.grad.detach().clone()
            for name, param in module.named_parameters()
            if param.grad is not None
        },
    }
    return state


def restore(trainer: Trainer, state: dict[str, Any], rng: dict[str, Any] | None) -> None:
    trainer.loop_state.resume_batches = trainer.loop_state.batches_done
    trainer.loop_state.resume_payload = {**state, "rng": rng}


def apply(trainer: Trainer, payload: dict[str, Any], outputs: EpochOutputs) -> None:
    """Put the loop's in-epoch state back; called just before the first resumed batch."""
    from trainer_core.trainer.checkpointing import restore_rng_states

    module = trainer.lightning_module
    store = trainer._train_results
    if store is not None:
        store.load_state_dict(payload.get("train_results", {}), module)
    kept = payload.get("epoch_outputs", [])
    outputs.for_epoch_end.extend(kept)
    # a checkpoint from before outputs were grouped by optimizer counts them all as the first's
    outputs.epoch_end_optimizers.extend(payload.get("epoch_output_optimizers", [0] * len(kept)))
    trainer._running_losses.extend(payload.get("running_losses", []))
    grads = payload.get("grads", {})
    for name, param in module.named_parameters():
        if name in grads:
            param.grad = grads[name].to(param.device)
    if payload.get("rng") is not None:
        restore_rng_states(payload["rng"])


def skipped_batches(trainer: Trainer) -> tuple[int, dict[str, Any]]:
    """(batches to skip, payload) for the epoch starting now; consumed once."""
    state = trainer.loop_state
    skip, payload = state.resume_batches, state.resume_payload
    state.resume_batches, state.resume_payload = 0, {}
    return skip, payload


def metric_paths(module: torch.nn.Module) -> dict[int, str]:
    return {id(sub): name for name, sub in module.named_modules()}
