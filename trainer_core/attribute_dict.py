"""`AttributeDict`: the dict with attribute access that `self.hparams` returns (as in Lightning)."""

from typing import Any


class AttributeDict(dict[str, Any]):
    """A dict whose keys read and write as attributes: `hparams.lr == hparams["lr"]`."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError as exc:
            raise AttributeError(
                f"hparams has no {key!r}; saved names are {sorted(self)}. Pass it to "
                "save_hyperparameters() or set it with hparams[key] = value."
            ) from exc

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value

    def __delattr__(self, key: str) -> None:
        del self[key]

    def __repr__(self) -> str:
        return f"AttributeDict({dict.__repr__(self)})"
