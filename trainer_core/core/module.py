"""`LightningModule`: a torch `nn.Module` that also says how it trains (Lightning 1.0's API).

Users override the step methods and `configure_optimizers`; every `on_*` hook is a no-op here.
The Trainer calls `*_step_end` and `*_epoch_end` only when a subclass overrides them, so their
defaults cost nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch

from trainer_core.attribute_dict import AttributeDict
from trainer_core.core import export, module_log
from trainer_core.core.grads import GradInformation
from trainer_core.core.hooks import ModelHooks
from trainer_core.core.hparams_mixin import HyperparametersMixin
from trainer_core.core.loading import CheckpointLoadingMixin, load_module_state
from trainer_core.core.memory import ModelSummary
from trainer_core.core.optimization import OptimizationHooks
from trainer_core.core.trainer_proxies import TrainerProxies
from trainer_core.exceptions import MisconfigurationException
from trainer_core.utilities.apply_func import move_data_to_device

if TYPE_CHECKING:
    from trainer_core.trainer.trainer import Trainer

__all__ = ["LightningModule", "load_module_state", "move_data_to_device"]


class LightningModule(
    ModelHooks,
    OptimizationHooks,
    GradInformation,
    HyperparametersMixin,
    CheckpointLoadingMixin,
    TrainerProxies,
):
    """Subclass this; implement `training_step` and `configure_optimizers` at least."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.trainer: Trainer | None = None
        self._hparams = AttributeDict()
        self._hparams_initial = AttributeDict()
        self._hparams_name: str | None = None
        self._automatic_optimization: bool | None = None
        self._example_input_array: Any = None
        self._current_fx_name: str | None = None
        self._results: Any = None  # the Trainer's ResultStore while a loop runs
        self.datamodule: Any = None
        self.precision: int | str = 32

    # --- proxies to the trainer ---------------------------------------------------------------
    @property
    def logger(self) -> Any:
        return self.trainer.logger if self.trainer is not None else None

    @property
    def device(self) -> torch.device:
        for tensor in self.parameters():
            return tensor.device
        for buffer in self.buffers():
            return buffer.device
        return self.trainer.root_device if self.trainer is not None else torch.device("cpu")

    @property
    def dtype(self) -> torch.dtype:
        for tensor in self.parameters():
            return tensor.dtype
        return torch.get_default_dtype()

    @property
    def on_gpu(self) -> bool:
        return self.device.type == "cuda"

    @property
    def use_amp(self) -> bool:
        return str(self.precision) in ("16", "bf16")

    @property
    def automatic_optimization(self) -> bool:
        """True unless set False here or with the 1.0 flag `Trainer(automatic_optimization=False)`."""
        if self._automatic_optimization is not None:
            return self._automatic_optimization
        if self.trainer is not None and self.trainer._automatic_optimization_flag is not None:
            return self.trainer._automatic_optimization_flag
        return True

    @automatic_optimization.setter
    def automatic_optimization(self, value: bool) -> None:
        self._automatic_optimization = bool(value)

    @property
    def example_input_array(self) -> Any:
        return self._example_input_array

    @example_input_array.setter
    def example_input_array(self, value: Any) -> None:
        self._example_input_array = value

    def print(self, *args: Any, **kwargs: Any) -> None:
        """`print` on global rank 0 only."""
        if self.trainer is None or self.trainer.is_global_zero:
            print(*args, **kwargs)

    # --- logging ----------------------------------------------------------------------------
    log = module_log.log  # (self, name, value, prog_bar=False, ...): Lightning 1.0's self.log

    def log_dict(self, dictionary: Mapping[str, Any], **kwargs: Any) -> None:
        """`self.log(name, value, **kwargs)` for every item."""
        for name, value in dictionary.items():
            self.log(name, value, **kwargs)

    def get_progress_bar_dict(self) -> dict[str, Any]:
        """What the progress bar shows besides `prog_bar` metrics: running loss and version."""
        items: dict[str, Any] = {}
        trainer = self.trainer
        if trainer is None:
            return items
        running = trainer._running_loss_mean()
        if running is not None:
            items["loss"] = f"{running:.3g}"
        if trainer.logger is not None:
            version = trainer.logger.version
            items["v_num"] = version[-4:] if isinstance(version, str) else version
        return items

    # --- the methods users implement --------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("Implement forward() in your LightningModule to call model(x).")

    def training_step(self, *args: Any, **kwargs: Any) -> Any:
        raise MisconfigurationException(
            f"{type(self).__name__} has no training_step(); implement it to return a loss (or a dict with 'loss')."
        )

    def training_step_end(self, outputs: Any) -> Any:
        return outputs

    def training_epoch_end(self, outputs: list[Any]) -> None:
        """Receives one entry per training batch (dicts with a detached 'loss')."""

    def validation_step(self, *args: Any, **kwargs: Any) -> Any:
        """Not overridden: the validation loop does not run."""

    def validation_step_end(self, outputs: Any) -> Any:
        return outputs

    def validation_epoch_end(self, outputs: list[Any]) -> None:
        """Receives what every validation step returned (None outputs dropped)."""

    def test_step(self, *args: Any, **kwargs: Any) -> Any:
        """Not overridden: `trainer.test()` refuses to run."""

    def test_step_end(self, outputs: Any) -> Any:
        return outputs

    def test_epoch_end(self, outputs: list[Any]) -> None:
        """Receives what every test step returned (None outputs dropped)."""

    def configure_optimizers(self) -> Any:
        raise MisconfigurationException(
            f"{type(self).__name__} has no configure_optimizers(); implement it to return an optimizer "
            "(or lists of optimizers and schedulers, or a dict with 'optimizer' and 'lr_scheduler')."
        )

    def train_dataloader(self) -> Any:
        return None

    def val_dataloader(self) -> Any:
        return None

    def test_dataloader(self) -> Any:
        return None

    def prepare_data(self) -> None:
        """Download or write data once per machine."""

    def setup(self, stage: str | None = None) -> None:
        """Build what depends on data (stage is 'fit' or 'test')."""

    def teardown(self, stage: str | None = None) -> None:
        """Release what setup built."""

    def transfer_batch_to_device(self, batch: Any, device: torch.device) -> Any:
        """Move every tensor in `batch` (nested lists/tuples/dicts) to `device`."""
        return move_data_to_device(batch, device)

    # --- inference helpers ------------------------------------------------------------------
    def freeze(self) -> None:
        """No gradients for any parameter, and eval mode."""
        for param in self.parameters():
            param.requires_grad = False
        self.eval()

    def unfreeze(self) -> None:
        for param in self.parameters():
            param.requires_grad = True
        self.train()

    def to_torchscript(
        self,
        file_path: str | None = None,
        method: str = "script",
        example_inputs: Any = None,
        **kwargs: Any,
    ) -> torch.jit.ScriptModule:
        """A TorchScript module (`method='script'` or `'trace'`), saved to `file_path` if given."""
        return export.to_torchscript(self, file_path, method, example_inputs, **kwargs)

    def to_onnx(self, file_path: str, input_sample: Any = None, **kwargs: Any) -> None:
        """Export to ONNX from `input_sample` (or `example_input_array`)."""
        export.to_onnx(self, file_path, input_sample, **kwargs)

    def summarize(self, mode: str = "top") -> ModelSummary:
        """A `ModelSummary` of layers and parameter counts ('top' or 'full'); print it for the table."""
        return ModelSummary(self, mode)


def _trainer_facing_properties(module_class: type) -> list[str]:
    """Every property the LightningModule API adds over `nn.Module` (its own and its mixins')."""
    return sorted(
        {
            name
            for klass in module_class.__mro__
            if klass not in torch.nn.Module.__mro__
            for name, value in vars(klass).items()
            if isinstance(value, property)
        }
        | {"trainer"}
    )


# TorchScript compiles properties unless listed here; none of these reads anything scriptable
# (most read the Trainer), and a hand-kept list went stale as the API grew.
LightningModule.__jit_unused_properties__ = _trainer_facing_properties(LightningModule)  # type: ignore[attr-defined]
