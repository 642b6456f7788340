"""Hyperparameters of a LightningModule: `save_hyperparameters`, `hparams`, `hparams_initial`."""

from __future__ import annotations

import copy
import inspect
from typing import Any

from trainer_core.attribute_dict import AttributeDict
from trainer_core.core import hparams as hp
from trainer_core.exceptions import MisconfigurationException


class HyperparametersMixin:
    """Stores `__init__` arguments so checkpoints can rebuild the module."""

    _hparams: AttributeDict
    _hparams_initial: AttributeDict
    _hparams_name: str | None

    def save_hyperparameters(
        self, *args: Any, ignore: list[str] | str | None = None, frame: Any = None
    ) -> None:
        """Store `__init__` arguments in `self.hparams` (all, some by name, or one dict/Namespace)."""
        if frame is None:
            current = inspect.currentframe()
            frame = current.f_back if current is not None else None
        if frame is None:
            raise MisconfigurationException(
                "save_hyperparameters could not see __init__'s arguments; pass them as a dict."
            )
        init_args = hp.init_args_of_frame(frame)
        ignored = {ignore} if isinstance(ignore, str) else set(ignore or ())
        if len(args) == 1 and not isinstance(args[0], str):
            obj = args[0]
            self._hparams_name = hp.name_of_object_in_frame(obj, frame)
            values = hp.to_attribute_dict(obj)
        else:
            self._hparams_name = "kwargs"
            names = [a for a in args if isinstance(a, str)]
            missing = [n for n in names if n not in init_args]
            if missing:
                raise MisconfigurationException(
                    f"save_hyperparameters{tuple(names)}: {missing} are not arguments of __init__ ({sorted(init_args)})."
                )
            values = AttributeDict(
                {k: v for k, v in init_args.items() if (not names or k in names)}
            )
        for key in ignored:
            values.pop(key, None)
        self._set_hparams(values)
        self._hparams_initial = copy.deepcopy(self._hparams)

    def _set_hparams(self, values: Any) -> None:
        # As in Lightning 1.0: a dict is merged into the dict already there (a parent's
        # save_hyperparameters() and then its subclass's); anything else replaces it.
        if isinstance(values, dict) and isinstance(self._hparams, dict) and self._hparams:
            self._hparams.update(values)
        else:
            self._hparams = values

    @property
    def hparams(self) -> AttributeDict:
        return self._hparams

    @hparams.setter
    def hparams(self, value: Any) -> None:
        self._set_hparams(hp.to_attribute_dict(value))
        # the first assignment is what checkpoints and loggers keep, as in Lightning 1.0
        if not self._hparams_initial:
            self._hparams_initial = copy.deepcopy(self._hparams)
        self._hparams_name = self._hparams_name or "hparams"

    @property
    def hparams_initial(self) -> AttributeDict:
        return self._hparams_initial
