"""Search expansion as a pure function: grid is the ordered cartesian product capped at
max_trials; random search is reproducible from its seed and stays inside its ranges."""

import itertools
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from runyard.schemas.spec import ExperimentSpec
from server.experiments.search import expand

BASE = {
    "name": "digits",
    "project": "vision",
    "model": {"entrypoint": "examples.digits:DigitsClassifier", "init_args": {"lr": 0.1}},
}

value_lists = st.lists(st.integers(-1000, 1000), min_size=1, max_size=4, unique=True)


@settings(max_examples=40, deadline=None)
@given(a=value_lists, b=value_lists, max_trials=st.integers(1, 20))
def test_grid_is_the_ordered_cartesian_product_capped_at_max_trials(
    a: list[int], b: list[int], max_trials: int
) -> None:
    spec = ExperimentSpec.model_validate(
        BASE
        | {
            "search": {
                "method": "grid",
                "max_trials": max_trials,
                "parameters": {
                    "model.init_args.a": {"values": a},
                    "model.init_args.b": {"values": b},
                },
            }
        }
    )
    trials = expand(spec)
    expected = list(itertools.product(a, b))[:max_trials]
    assert [
        (t.params["model.init_args.a"], t.params["model.init_args.b"]) for t in trials
    ] == expected
    for trial in trials:
        assert trial.spec.model.init_args["a"] == trial.params["model.init_args.a"]
        assert trial.spec.model.init_args["lr"] == 0.1 and trial.spec.search is None


@settings(max_examples=40, deadline=None)
@given(
    low=st.floats(1e-6, 10.0),
    span=st.floats(0.0, 100.0),
    log=st.booleans(),
    integer=st.booleans(),
    seed=st.integers(0, 2**31),
    max_trials=st.integers(1, 10),
)
def test_random_search_is_seeded_and_stays_in_range(
    low: float, span: float, log: bool, integer: bool, seed: int, max_trials: int
) -> None:
    high = low + span
    if integer and math.ceil(low) > math.floor(high):
        high = math.ceil(low)
    space = {"low": low, "high": high, "log": log, "integer": integer}
    spec = ExperimentSpec.model_validate(
        BASE
        | {
            "search": {
                "method": "random",
                "seed": seed,
                "max_trials": max_trials,
                "parameters": {"model.init_args.x": space},
            }
        }
    )
    first = [t.params for t in expand(spec)]
    assert first == [t.params for t in expand(spec)]
    assert len(first) == max_trials
    for params in first:
        value = params["model.init_args.x"]
        assert low - 1e-9 <= value <= high + 1e-9 or (
            integer and math.ceil(low) <= value <= math.floor(high)
        )
        if integer:
            assert isinstance(value, int)


def test_spec_without_search_is_one_trial_with_no_params() -> None:
    trials = expand(ExperimentSpec.model_validate(BASE))
    assert len(trials) == 1 and trials[0].params == {}
