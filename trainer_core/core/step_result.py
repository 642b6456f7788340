"""0.9's `Result` objects (`TrainResult`, `EvalResult`), at their 1.0 import path.

Lightning 1.0 deprecated them for `self.log`; trainer_core keeps the names importable (1.0 code
imports them next to code that does not use them) and refuses to build one, saying what to
write instead.
"""

from typing import Any

from trainer_core.exceptions import MisconfigurationException


class Result(dict):  # type: ignore[type-arg]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise MisconfigurationException(
            f"{type(self).__name__} is 0.9's deprecated result object, which trainer_core does not "
            "implement: return the loss (or a dict with 'loss') from training_step and record "
            "values with self.log(name, value)."
        )


class TrainResult(Result):
    pass


class EvalResult(Result):
    pass


__all__ = ["EvalResult", "Result", "TrainResult"]
