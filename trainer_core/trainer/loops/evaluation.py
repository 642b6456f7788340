"""`EvaluationLoop`: validation and test (the same loop with `validation_*` or `test_*` names).

Order (Lightning 1.0): model eval, on_{stage}_start, on_{stage}_epoch_start; per batch
on_{stage}_batch_start, {stage}_step, {stage}_step_end, on_{stage}_batch_end; then
{stage}_epoch_end, epoch-value logging, on_{stage}_epoch_end, model train, on_{stage}_end
(where ModelCheckpoint and EarlyStopping act).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import torch

from trainer_core.trainer.data import iterate_with_last
from trainer_core.trainer.hooks import set_current_hook
from trainer_core.trainer.logged_results import ResultStore

if TYPE_CHECKING:
    from trainer_core.trainer.trainer import Trainer


class EvaluationLoop:
    def __init__(self, trainer: Trainer, stage: str) -> None:
        self.trainer = trainer
        self.stage = stage  # 'validation' or 'test'
        self.last_output: Any = None  # the last {stage}_step output (Lightning 1.0's dict keys)

    def run(self, loaders: list[Any], limits: list[float]) -> list[dict[str, float]]:
        """Run the stage over `loaders` (at most `limits[i]` batches each); returns the values
        logged per loader."""
        trainer, stage = self.trainer, self.stage
        module = trainer.lightning_module
        hooks = trainer._hooks
        assert hooks is not None
        self.last_output = None
        previous_results = module._results
        store = ResultStore(stage, trainer.strategy.reduce)
        module._results = store
        epoch_end = hooks.module_method(f"{stage}_epoch_end")
        several = len(loaders) > 1

        getattr(module, f"on_{stage}_model_eval")()
        try:
            with torch.no_grad():
                # callbacks only: Lightning 1.0's module has no on_validation_start/_end
                hooks.call_callbacks(f"on_{stage}_start")
                hooks.call(f"on_{stage}_epoch_start")
                all_outputs = [
                    self._run_loader(loader, limits[dl_idx], dl_idx, several, store)
                    for dl_idx, loader in enumerate(loaders)
                ]
                store.dataloader_idx = None
                if epoch_end is not None:
                    set_current_hook(module, f"{stage}_epoch_end")
                    returned = epoch_end(
                        all_outputs if several else all_outputs[0] if all_outputs else []
                    )
                    set_current_hook(module, None)
                    if returned is not None:
                        _legacy_epoch_end_return(returned, module, stage)
                results = _publish(trainer, store, len(loaders))
                if epoch_end is None:
                    _legacy_step_dict(trainer, self.last_output, results)
                hooks.call(f"on_{stage}_epoch_end")
                # values the epoch-end hooks logged (2.x-style code logs there)
                extras = _publish(trainer, store, len(loaders))
                for merged, extra in zip(results, extras, strict=True):
                    merged.update(extra)
        finally:
            set_current_hook(module, None)
            getattr(module, f"on_{stage}_model_train")()
            module._results = previous_results
        hooks.call_callbacks(f"on_{stage}_end")
        return results

    def _run_loader(
        self, loader: Any, limit: float, dl_idx: int, several: bool, store: ResultStore
    ) -> list[Any]:
        """The batches of one loader; returns the outputs kept for `{stage}_epoch_end`."""
        trainer, stage = self.trainer, self.stage
        module, strategy = trainer.lightning_module, trainer.strategy
        hooks = trainer._hooks
        assert hooks is not None
        step_fn = strategy.validation_step if stage == "validation" else strategy.test_step
        step_end = hooks.module_method(f"{stage}_step_end")
        keep = hooks.module_method(f"{stage}_epoch_end") is not None
        transfer = (
            strategy.needs_batch_transfer
            or hooks.module_method("transfer_batch_to_device") is not None
        )
        # the per-batch hooks and names, resolved once per loader
        batch_start = hooks.batch_hook(f"on_{stage}_batch_start")
        batch_end = hooks.batch_hook(f"on_{stage}_batch_end")
        step_name, step_end_name = f"{stage}_step", f"{stage}_step_end"
        log_steps = trainer.logger is not None and not trainer.running_sanity_check
        store.dataloader_idx = dl_idx if several else None
        outputs: list[Any] = []
        for batch_idx, batch, _ in iterate_with_last(loader, limit):
            store.new_batch(batch)
            if transfer:
                batch = strategy.batch_to_device(batch, dl_idx)
            if batch_start is not None:
                batch_start(batch, batch_idx, dl_idx)
            set_current_hook(module, step_name)
            out = step_fn(batch, batch_idx, dl_idx) if several else step_fn(batch, batch_idx)
            if step_end is not None:
                set_current_hook(module, step_end_name)
                out = step_end(out)
            set_current_hook(module, None)
            out = _detach(out)
            if batch_end is not None:
                batch_end(out, batch, batch_idx, dl_idx)
            self.last_output = out
            if keep and out is not None:
                outputs.append(out)
            if log_steps:
                _log_step_values(trainer, store, batch_idx)
        return outputs


def _log_step_values(trainer: Trainer, store: ResultStore, batch_idx: int) -> None:
    """Lightning 1.0: what an eval step logs with on_step=True goes to the logger as one line
    per epoch (`{name}/epoch_{N}`), its x-axis the batch index within this loop."""
    values = store.step_metrics(only_fresh=True, for_logger=True)
    if values:
        epoch = trainer.current_epoch
        by_epoch = {f"{name}/epoch_{epoch}": value for name, value in values.items()}
        trainer._log_to_logger(by_epoch, batch_idx, add_epoch=False)


def _detach(out: Any) -> Any:
    if isinstance(out, torch.Tensor):
        return out.detach()
    if isinstance(out, dict):
        return {k: (v.detach() if isinstance(v, torch.Tensor) else v) for k, v in out.items()}
    return out


def _legacy_epoch_end_return(returned: Any, module: Any, stage: str) -> None:
    """Lightning 1.0 warns about any value an eval epoch end returns (its words: 1.0 calls
    the test hook 'testing_epoch_end' here) and still reads 0.9's dict: 'log' /
    'progress_bar' / 'val_loss' keys."""
    hook = "testing_epoch_end" if stage == "test" else "validation_epoch_end"
    warnings.warn(
        f"The {hook} should not return anything as of 9.1. To log, use self.log(...) or "
        "self.write(...) directly in the LightningModule",
        UserWarning,
        stacklevel=3,
    )
    if not isinstance(returned, dict):
        return
    set_current_hook(module, f"{stage}_epoch_end")
    for name, value in (returned.get("log") or {}).items():
        module.log(name, value)
    for name, value in (returned.get("progress_bar") or {}).items():
        module.log(name, value, prog_bar=True, logger=False)
    for name, value in returned.items():
        if name not in ("log", "progress_bar") and isinstance(value, torch.Tensor | float | int):
            module.log(name, value, logger=False)
    set_current_hook(module, None)


def _legacy_step_dict(trainer: Trainer, out: Any, results: list[dict[str, float]]) -> None:
    """Lightning 1.0 without a *_epoch_end: the scalar keys of the last step's dict (say
    {'val_loss': loss}) become callback metrics; values logged with self.log win."""
    if not isinstance(out, dict):
        return
    logged = {name for result in results for name in result}
    for name, value in out.items():
        if name in ("log", "progress_bar", "hiddens") or name in logged:
            continue
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            trainer._callback_metrics[name] = value
        elif isinstance(value, int | float) and not isinstance(value, bool):
            trainer._callback_metrics[name] = torch.tensor(float(value))


def _publish(trainer: Trainer, store: ResultStore, n_loaders: int) -> list[dict[str, float]]:
    """Epoch values into callback/progress-bar metrics and the logger; per-loader results."""
    trainer._callback_metrics.update(store.callback_step_metrics(step_names=False))
    to_log: dict[str, torch.Tensor] = {}
    results: list[dict[str, float]] = [{} for _ in range(max(n_loaders, 1))]
    for key, value in store.epoch_values():
        trainer._callback_metrics[key.epoch_key] = value
        if key.epoch_key != key.name:
            trainer._callback_metrics[key.name] = value
        if key.prog_bar:
            trainer._progress_bar_metrics[key.epoch_key] = value
        if key.logger:
            to_log[key.epoch_key] = value
        target = _loader_index(key.epoch_key, n_loaders)
        for idx in range(len(results)) if target is None else [target]:
            results[idx][key.epoch_key] = float(value)
    if not trainer.running_sanity_check:
        trainer._log_to_logger(to_log, trainer.global_step)
    return results


def _loader_index(name: str, n_loaders: int) -> int | None:
    marker = "/dataloader_idx_"
    if n_loaders > 1 and marker in name:
        return int(name.rsplit(marker, 1)[1].split("_")[0])
    return None
