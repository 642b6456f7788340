"""Loading a LightningModule from a checkpoint (`load_from_checkpoint`, `load_module_state`)."""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Mapping
from typing import Any, TypeVar

from torch import nn

from trainer_core.exceptions import CheckpointMismatchError
from trainer_core.utilities import cloud_io

_Module = TypeVar("_Module", bound="CheckpointLoadingMixin")


class CheckpointLoadingMixin:
    """`Model.load_from_checkpoint(path)`: rebuild from saved hyperparameters, then load weights."""

    # where a checkpoint keeps the module's hyperparameters (Lightning 1.0's key names)
    CHECKPOINT_HYPER_PARAMS_KEY = "hyper_parameters"
    CHECKPOINT_HYPER_PARAMS_NAME = "hparams_name"
    CHECKPOINT_HYPER_PARAMS_TYPE = "hparams_type"
    # the key Lightning before 0.9 used, still read
    CHECKPOINT_PAST_HPARAMS_KEYS = ("hparams", "module_arguments")

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None: ...

    @classmethod
    def load_from_checkpoint(
        cls: type[_Module],
        checkpoint_path: str,
        map_location: Any = None,
        hparams_file: str | None = None,
        strict: bool = True,
        **kwargs: Any,
    ) -> _Module:
        """Rebuild the module from a checkpoint's hyperparameters (kwargs override) and weights."""
        checkpoint = cloud_io.load(checkpoint_path, map_location=map_location or "cpu")
        if "state_dict" not in checkpoint:
            raise CheckpointMismatchError(
                f"{checkpoint_path} has no 'state_dict'; it is not a trainer_core/Lightning checkpoint."
            )
        saved = dict(cls._saved_hparams(checkpoint))
        if hparams_file is not None:
            import yaml

            with open(hparams_file) as fh:
                saved.update(yaml.safe_load(fh) or {})
        saved.update(kwargs)
        hparams: Any = saved
        if checkpoint.get(cls.CHECKPOINT_HYPER_PARAMS_TYPE) == "DictConfig":
            from omegaconf import OmegaConf  # only a module that had an OmegaConf config wrote it

            hparams = OmegaConf.create(saved)
        model = cls._from_hparams(hparams, checkpoint.get(cls.CHECKPOINT_HYPER_PARAMS_NAME))
        model.on_load_checkpoint(checkpoint)
        assert isinstance(model, nn.Module)
        load_module_state(
            model, checkpoint["state_dict"], strict=strict, source=str(checkpoint_path)
        )
        return model

    @classmethod
    def _saved_hparams(cls, checkpoint: Mapping[str, Any]) -> Mapping[str, Any]:
        for key in (cls.CHECKPOINT_HYPER_PARAMS_KEY, *cls.CHECKPOINT_PAST_HPARAMS_KEYS):
            if checkpoint.get(key):
                found = checkpoint[key]
                return vars(found) if isinstance(found, argparse.Namespace) else found
        return {}

    @classmethod
    def _from_hparams(cls: type[_Module], saved: Any, hparams_name: str | None) -> _Module:
        params = inspect.signature(cls.__init__).parameters
        takes_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        if hparams_name not in (None, "kwargs") and hparams_name in params:
            return cls(**{hparams_name: saved})
        if takes_kwargs:
            return cls(**saved)
        return cls(**{k: v for k, v in saved.items() if k in params})


def load_module_state(
    module: nn.Module, state_dict: Mapping[str, Any], *, strict: bool, source: str
) -> None:
    """`load_state_dict`, with a message that says the checkpoint belongs to another model."""
    try:
        module.load_state_dict(state_dict, strict=strict)
    except RuntimeError as exc:
        raise CheckpointMismatchError(
            f"The checkpoint {source} does not fit {type(module).__name__}: {exc}. Load it into the model class "
            "(and hyperparameters) that wrote it, or pass strict=False to load the matching weights only."
        ) from exc
