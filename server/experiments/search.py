"""Hyperparameter search expansion: a spec with `search` becomes one effective spec per trial.

Pure functions: the same spec always expands to the same trials (random search is seeded).
"""

import itertools
import math
import random
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from runyard.schemas.spec import ExperimentSpec, ParamSpace


class SearchError(ValueError):
    """A searched value cannot be applied to the spec; `loc` is the path of the culprit."""

    def __init__(self, message: str, loc: list[str | int]) -> None:
        super().__init__(message)
        self.loc = loc


@dataclass(frozen=True)
class Trial:
    params: dict[str, Any]
    spec: ExperimentSpec


def expand(spec: ExperimentSpec) -> list[Trial]:
    """The runs an experiment stands for: one without a search; otherwise, for grid search, the
    cartesian product of the values in order (the first `max_trials`), and for random search
    `max_trials` seeded samples."""
    if spec.search is None:
        return [Trial(params={}, spec=spec)]
    search = spec.search
    names = list(search.parameters)
    if search.method == "grid":
        value_lists = [search.parameters[name].values or [] for name in names]
        combos = itertools.islice(itertools.product(*value_lists), search.max_trials)
        assignments = [dict(zip(names, combo, strict=True)) for combo in combos]
    else:
        rng = random.Random(search.seed)
        assignments = [
            {name: _sample(rng, search.parameters[name]) for name in names}
            for _ in range(search.max_trials)
        ]
    base = spec.model_dump(mode="json", exclude={"search"})
    return [Trial(params=a, spec=_apply(base, a)) for a in assignments]


def _sample(rng: random.Random, space: ParamSpace) -> Any:
    if space.values is not None:
        return rng.choice(space.values)
    assert space.low is not None and space.high is not None
    if space.log:
        value = math.exp(rng.uniform(math.log(space.low), math.log(space.high)))
    else:
        value = rng.uniform(space.low, space.high)
    if space.integer:
        low, high = math.ceil(space.low), math.floor(space.high)
        if low > high:
            raise SearchError(
                f"no integer lies between {space.low} and {space.high}",
                ["body", "search", "parameters"],
            )
        return min(max(round(value), low), high)
    return value


def _apply(base: dict[str, Any], assignment: dict[str, Any]) -> ExperimentSpec:
    data = _deep_copy(base)
    for path, value in assignment.items():
        parts = path.split(".")
        node = data
        for part in parts[:-1]:
            child = node.get(part)
            if child is None:
                raise SearchError(
                    f"search parameter {path!r} points into {part!r}, which the spec does not "
                    "set; add it to the spec",
                    ["body", "search", "parameters", path],
                )
            if not isinstance(child, dict):
                raise SearchError(
                    f"search parameter {path!r}: {part!r} is not a mapping",
                    ["body", "search", "parameters", path],
                )
            node = child
        node[parts[-1]] = value
    try:
        return ExperimentSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise SearchError(
            f"a searched value makes the spec invalid at {'.'.join(map(str, first['loc']))}: "
            f"{first['msg']}",
            ["body", "search", "parameters", *[str(p) for p in first["loc"]]],
        ) from exc


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value
