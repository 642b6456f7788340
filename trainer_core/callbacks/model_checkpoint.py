"""`ModelCheckpoint`: save the last state, or the top-k by a monitored metric.

Saves at `on_validation_end` (never during the sanity check, never twice at the same global
step), or at the end of each training epoch when there is no validation loop, every
`period` epochs. Each saved file is announced to all callbacks through
`on_checkpoint_saved(trainer, pl_module, filepath)`, each deleted one through
`on_checkpoint_removed`.
"""

from __future__ import annotations

import math
import os
import warnings
from typing import TYPE_CHECKING, Any

import torch

from trainer_core.callbacks.base import Callback
from trainer_core.callbacks.checkpoint_names import expand_template
from trainer_core.exceptions import MisconfigurationException

if TYPE_CHECKING:
    from trainer_core.core.module import LightningModule
    from trainer_core.trainer.trainer import Trainer


class ModelCheckpoint(Callback):
    """Checkpointing policy (Lightning 1.0.4 signature, with `dirpath`/`filename`).

    `monitor=None`: keep only the latest checkpoint (`save_top_k=-1` keeps every one).
    `monitor='val_loss'`: keep the best `save_top_k` (default 1) by `mode` ('min', 'max', or
    'auto': 'max' when the name contains "acc" or starts with "fmeasure"). `save_last=True`
    also writes `last.ckpt` every time. `filename` is a template such as
    `'{epoch}-{val_loss:.2f}'`, expanded to `epoch=3-val_loss=0.12.ckpt`.
    """

    CHECKPOINT_JOIN_CHAR = "-"
    CHECKPOINT_NAME_LAST = "last"  # a template too: 'last-{epoch}' gives last-epoch=2.ckpt
    FILE_EXTENSION = ".ckpt"

    def __init__(
        self,
        filepath: str | None = None,
        monitor: str | None = None,
        verbose: bool = False,
        save_last: bool | None = None,
        save_top_k: int | None = None,
        save_weights_only: bool = False,
        mode: str = "auto",
        period: int = 1,
        prefix: str = "",
        dirpath: str | None = None,
        filename: str | None = None,
    ) -> None:
        if filepath:  # 1.0.0 form: one path, split into folder and template
            if dirpath or filename:
                raise MisconfigurationException(
                    f"ModelCheckpoint(filepath={filepath!r}, dirpath={dirpath!r}, filename={filename!r}): "
                    "inputs which are not feasible together; pass either filepath, or dirpath and filename."
                )
            warnings.warn(
                "ModelCheckpoint(filepath=...) is deprecated since Lightning 1.0 and will be removed in v1.2; "
                "use dirpath and filename.",
                DeprecationWarning,
                stacklevel=2,
            )
            filepath = os.fspath(filepath)
            if os.path.isdir(filepath):  # 1.0: an existing folder; anything else names a file
                dirpath = filepath
            else:
                dirpath, filename = os.path.split(os.path.realpath(filepath))
                filename = os.path.splitext(filename)[0] if filename.endswith(".ckpt") else filename
        if mode not in ("min", "max", "auto"):
            raise MisconfigurationException(
                f"ModelCheckpoint(mode={mode!r}): use 'min', 'max' or 'auto'."
            )
        if save_top_k is not None and save_top_k < -1:
            raise MisconfigurationException(
                f"ModelCheckpoint(save_top_k={save_top_k}): Must be None or >= -1 "
                "(-1 keeps all, 0 none, k >= 1 the best k)."
            )
        if monitor is None and save_top_k not in (None, -1, 0, 1):
            raise MisconfigurationException(
                f"ModelCheckpoint(save_top_k={save_top_k}, monitor=None) is not a valid configuration: "
                "no quantity for top_k to track. Set monitor=... or save_top_k=-1."
            )
        if monitor is None and save_last:
            warnings.warn(
                "ModelCheckpoint(save_last=True, monitor=None) is a redundant configuration: without "
                "monitor the last checkpoint is kept anyway (ModelCheckpoint(save_top_k=None, monitor=None)).",
                UserWarning,
                stacklevel=2,
            )
        self.monitor = monitor
        self.verbose = verbose
        self.save_last = save_last
        self.save_top_k = save_top_k
        self.save_weights_only = save_weights_only
        self.period = period  # save every `period` epochs; 0 (or less) never saves
        self.prefix = prefix
        self.dirpath = os.path.realpath(os.fspath(dirpath)) if dirpath else None
        self.filename = filename or None
        if mode == "auto":
            mode = (
                "max"
                if monitor is not None and ("acc" in monitor or monitor.startswith("fmeasure"))
                else "min"
            )
        self.mode = mode
        self.best_k_models: dict[str, torch.Tensor] = {}
        self.kth_best_model_path = ""
        self.best_model_path = ""
        # 1.0: 0 until a monitored save (and for good without a monitor)
        self.best_model_score: torch.Tensor | float = 0
        self.last_model_path = ""
        self._last_global_step_saved = -1
        self._warned_nothing_logged = False

    @property
    def state_key(self) -> str:
        return f"ModelCheckpoint{{'monitor': {self.monitor!r}, 'mode': {self.mode!r}}}"

    # --- state ---------------------------------------------------------------------------
    def on_save_checkpoint(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        checkpoint: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Lightning 1.0: the callback's state, as `state_dict()` has it."""
        return self.state_dict()

    def state_dict(self) -> dict[str, Any]:
        return {
            "monitor": self.monitor,
            "best_model_score": self.best_model_score,
            "best_model_path": self.best_model_path,
            "best_k_models": {path: float(score) for path, score in self.best_k_models.items()},
            "kth_best_model_path": self.kth_best_model_path,
            "last_model_path": self.last_model_path,
            "dirpath": self.dirpath,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        score = state_dict.get("best_model_score")
        self.best_model_score = 0 if score is None else score
        self.best_model_path = state_dict.get("best_model_path", "")
        self.best_k_models = {
            path: torch.as_tensor(value)
            for path, value in state_dict.get("best_k_models", {}).items()
        }
        self.kth_best_model_path = state_dict.get("kth_best_model_path", "")
        self.last_model_path = state_dict.get("last_model_path", "")

    # --- hooks ---------------------------------------------------------------------------
    def on_pretrain_routine_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self.dirpath is None:
            self.dirpath = self._default_dirpath(trainer)

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.running_sanity_check or trainer.testing:
            return
        self.save_checkpoint(trainer, pl_module)

    def on_train_epoch_end(
        self, trainer: Trainer, pl_module: LightningModule, outputs: Any = None
    ) -> None:
        if not trainer.enable_validation:
            self.save_checkpoint(trainer, pl_module)

    # --- saving --------------------------------------------------------------------------
    def save_checkpoint(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Apply the policy for the current state (what the hooks above call)."""
        epoch, step = trainer.current_epoch, trainer.global_step
        if self.save_top_k == 0 and not self.save_last:
            return
        if self.period < 1 or (epoch + 1) % self.period != 0:
            return
        if step == self._last_global_step_saved:
            return
        if self.dirpath is None:
            self.dirpath = self._default_dirpath(trainer)
        self._last_global_step_saved = step
        metrics = trainer.callback_metrics
        if self.monitor is None:
            self._save_latest(trainer, metrics)
        elif self._monitor_logged(metrics):
            self._save_top_k(trainer, metrics)
        if self.save_last:
            name = self._format_checkpoint_name(
                self.CHECKPOINT_NAME_LAST, epoch, metrics, self.prefix, step=step
            )
            path = self._path(name, allow_clash=True)
            trainer.save_checkpoint(path, self.save_weights_only)
            if self.last_model_path and self.last_model_path != path:
                self._remove(trainer, self.last_model_path)
            self.last_model_path = path

    def save_at_train_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        """Lightning 1.0: once training finishes, save for the last step unless a checkpoint
        was already written for it (a validation after an epoch's last batch, or the epoch-end
        save without validation). What the fit loop calls before `on_train_end`."""
        if self._last_global_step_saved >= trainer.global_step - 1:
            return
        self.save_checkpoint(trainer, pl_module)

    def _monitor_logged(self, metrics: dict[str, Any]) -> bool:
        """A monitored key missing among logged values raises; with nothing logged at all,
        Lightning 1.0.8 skips the top-k save silently (we skip too, and warn once)."""
        if self.monitor in metrics:
            return True
        if metrics:
            raise MisconfigurationException(
                f"ModelCheckpoint(monitor={self.monitor!r}) not found in the returned metrics: "
                f"{sorted(metrics)}. HINT: Did you call self.log({self.monitor!r}, tensor) in the "
                "LightningModule?"
            )
        if not self._warned_nothing_logged:
            self._warned_nothing_logged = True
            warnings.warn(
                f"ModelCheckpoint(monitor={self.monitor!r}): nothing was logged, so no top-k "
                f"checkpoint is saved. Log it with self.log({self.monitor!r}, value).",
                UserWarning,
                stacklevel=2,
            )
        return False

    def save_for_resume(self, trainer: Trainer, pl_module: LightningModule) -> str:
        """Write a full checkpoint as `last.ckpt` now, at any step boundary (what
        `Trainer.request_checkpoint_and_stop` uses); returns its path. Always a full
        checkpoint, whatever save_weights_only says: it exists to be resumed from."""
        if self.dirpath is None:
            self.dirpath = self._default_dirpath(trainer)
        name = self._format_checkpoint_name(
            self.CHECKPOINT_NAME_LAST,
            trainer.current_epoch,
            trainer.callback_metrics,
            self.prefix,
            step=trainer.global_step,
        )
        path = self._path(name, allow_clash=True)
        trainer.save_checkpoint(path, weights_only=False)
        if self.last_model_path and self.last_model_path != path:
            self._remove(trainer, self.last_model_path)
        self.last_model_path = path
        self._last_global_step_saved = trainer.global_step
        return path

    def _save_latest(self, trainer: Trainer, metrics: dict[str, Any]) -> None:
        """No monitor: the newest checkpoint is the best (1.0: best_k_models stays empty and
        best_model_score 0); save_top_k=-1 keeps every one."""
        if self.save_top_k == 0:
            return
        path = self.format_checkpoint_name(trainer.current_epoch, trainer.global_step, metrics)
        previous = self.best_model_path
        trainer.save_checkpoint(path, self.save_weights_only)
        if self.save_top_k != -1 and previous and previous != path:
            self._remove(trainer, previous)
        self.best_model_path = path
        if not self.save_last:  # with save_last, last_model_path is last.ckpt
            self.last_model_path = path

    def _save_top_k(self, trainer: Trainer, metrics: dict[str, Any]) -> None:
        assert self.monitor is not None
        if self.save_top_k == 0:  # only last.ckpt (save_last) is kept
            return
        current = metrics[self.monitor]
        score = torch.as_tensor(current).detach().cpu().float()
        if torch.isnan(score):  # NaN ranks worst
            score = torch.tensor(math.inf if self.mode == "min" else -math.inf)
        k = 1 if self.save_top_k is None else self.save_top_k
        if (
            k != -1
            and len(self.best_k_models) >= k
            and not self._better(score, self.best_k_models[self.kth_best_model_path])
        ):
            if self.verbose:
                print(f"Epoch {trainer.current_epoch:d}: {self.monitor} was not in top {k}")
            return
        path = self.format_checkpoint_name(trainer.current_epoch, trainer.global_step, metrics)
        evicted = None
        if k != -1 and len(self.best_k_models) >= k:
            evicted = self.kth_best_model_path
            del self.best_k_models[evicted]
        self.best_k_models[path] = score
        ranked = sorted(
            self.best_k_models.items(), key=lambda kv: float(kv[1]), reverse=self.mode == "max"
        )
        self.best_model_path, self.best_model_score = ranked[0]
        self.kth_best_model_path = ranked[-1][0]
        if self.verbose:
            print(
                f"Epoch {trainer.current_epoch}: {self.monitor} reached {float(score):.5f}; saving {path}"
            )
        trainer.save_checkpoint(path, self.save_weights_only)
        if evicted is not None and evicted != path:
            self._remove(trainer, evicted)

    def _better(self, score: torch.Tensor, reference: torch.Tensor) -> bool:
        return bool(score < reference) if self.mode == "min" else bool(score > reference)

    def _remove(self, trainer: Trainer, path: str) -> None:
        trainer.remove_checkpoint(path)

    # --- names ---------------------------------------------------------------------------
    @classmethod
    def _format_checkpoint_name(
        cls,
        filename: str | None,
        epoch: int,
        metrics: dict[str, Any],
        prefix: str = "",
        step: int = 0,
    ) -> str:
        """The file name (no folder, no extension) for a template, as 1.0 spells it: each
        `{name}` becomes `name=value` ('{epoch:03d}-{acc}' -> 'epoch=003-acc=0.03'), a name
        not among `metrics` reads 0, and a prefix joins with CHECKPOINT_JOIN_CHAR. Users call
        this classmethod to predict file names."""
        name = expand_template(filename or "{epoch}", epoch, step, metrics)
        return cls.CHECKPOINT_JOIN_CHAR.join(part for part in (prefix, name) if part)

    def format_checkpoint_name(
        self,
        epoch: int,
        step_or_metrics: int | dict[str, Any],
        metrics: dict[str, Any] | None = None,
        ver: int | None = None,
    ) -> str:
        """The file path for this state, e.g. `dirpath/epoch=3-val_loss=0.12.ckpt`.

        Lightning 1.0's form is `format_checkpoint_name(epoch, metrics, ver=None)`; the step
        (for a `{step}` field) may come second: `(epoch, step, metrics)`. `ver` appends `-v{ver}`.
        """
        if isinstance(step_or_metrics, dict):
            step, metrics = 0, step_or_metrics
        else:
            step = step_or_metrics
        name = self._format_checkpoint_name(
            self.filename, epoch, metrics or {}, self.prefix, step=step
        )
        if ver is not None:
            return self._path(self.CHECKPOINT_JOIN_CHAR.join((name, f"v{ver}")), allow_clash=True)
        return self._path(name, allow_clash=False)

    def _path(self, name: str, allow_clash: bool) -> str:
        if self.dirpath is None:  # no folder yet (before fit): the bare file name
            return name + self.FILE_EXTENSION
        path = os.path.join(self.dirpath, name + self.FILE_EXTENSION)
        if (
            allow_clash
            or not os.path.exists(path)
            or path in (self.best_model_path, self.last_model_path)
        ):
            return path
        version = 0
        join = self.CHECKPOINT_JOIN_CHAR
        while os.path.exists(
            candidate := os.path.join(self.dirpath, f"{name}{join}v{version}{self.FILE_EXTENSION}")
        ):
            version += 1
        return candidate

    @staticmethod
    def _default_dirpath(trainer: Trainer) -> str:
        logger = trainer.logger
        if logger is not None:
            root = (
                trainer.weights_save_path
                if trainer.weights_save_path != trainer.default_root_dir
                else (logger.save_dir or trainer.default_root_dir)
            )
            version = logger.version
            version_dir = version if isinstance(version, str) else f"version_{version}"
            parts = [root, str(logger.name), version_dir] if logger.name else [root, version_dir]
            return os.path.join(*parts, "checkpoints")
        return os.path.join(trainer.weights_save_path, "checkpoints")

    def to_yaml(self, filepath: str | None = None) -> None:
        """Write best_k_models (path: score) to YAML next to the checkpoints."""
        import yaml

        target = filepath or os.path.join(self.dirpath or ".", "best_k_models.yaml")
        with open(target, "w") as fh:
            yaml.safe_dump({k: float(v) for k, v in self.best_k_models.items()}, fh)
