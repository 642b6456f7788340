"""The checkpoint retention decision (pure): top-k by monitor plus last."""

from hypothesis import given
from hypothesis import strategies as st

from runyard.schemas.spec import CheckpointPolicy
from server.artifacts.retention import Candidate, decide


def _ckpts(values: list[float | None]) -> list[Candidate]:
    return [
        Candidate(id=f"c{i}", order=(1, i, float(i)), metrics={} if v is None else {"loss": v})
        for i, v in enumerate(values)
    ]


def test_min_mode_keeps_the_lowest_and_the_last() -> None:
    policy = CheckpointPolicy(monitor="loss", mode="min", save_top_k=1, save_last=True)
    result = decide(_ckpts([0.5, 0.2, 0.9]), policy)
    assert (result.keep, result.best, result.last) == (frozenset({"c1", "c2"}), "c1", "c2")


def test_a_last_copy_of_a_ranked_state_takes_no_top_k_place() -> None:
    # Epoch 4's top-k file and its `last` copy share (attempt, step); epoch 3 must stay.
    ckpts = [
        Candidate(id="ep3", order=(1, 67, 1.0), metrics={"loss": 0.31}),
        Candidate(id="ep4", order=(1, 84, 2.0), metrics={"loss": 0.25}),
        Candidate(id="ep4-last", order=(1, 84, 3.0), metrics={"loss": 0.25}),
    ]
    policy = CheckpointPolicy(monitor="loss", mode="min", save_top_k=2, save_last=True)
    result = decide(ckpts, policy)
    assert (result.keep, result.best, result.last) == (frozenset({"ep3", "ep4"}), "ep4", "ep4")


def test_max_mode_ranks_the_highest_first() -> None:
    policy = CheckpointPolicy(monitor="loss", mode="max", save_top_k=1, save_last=False)
    assert decide(_ckpts([0.5, 0.2, 0.9]), policy).keep == {"c2"}


def test_without_monitor_the_newest_is_best() -> None:
    result = decide(_ckpts([None, None]), CheckpointPolicy(save_top_k=1, save_last=False))
    assert (result.keep, result.best) == (frozenset({"c1"}), "c1")


def test_checkpoints_missing_the_monitored_value_are_not_ranked() -> None:
    policy = CheckpointPolicy(monitor="loss", save_top_k=5, save_last=False)
    assert decide(_ckpts([None, 0.1, None]), policy).keep == {"c1"}


def test_a_later_attempt_is_newer_than_a_higher_step_of_an_earlier_one() -> None:
    ckpts = [
        Candidate(id="a1", order=(1, 900, 1.0), metrics={}),
        Candidate(id="a2", order=(2, 500, 2.0), metrics={}),
    ]
    assert decide(ckpts, CheckpointPolicy(save_top_k=0, save_last=True)).last == "a2"


@given(
    st.lists(st.one_of(st.none(), st.floats(-1e6, 1e6)), max_size=30),
    st.integers(-1, 10),
    st.booleans(),
)
def test_keeps_at_most_k_plus_last_and_always_the_last_when_asked(
    values: list[float | None], k: int, save_last: bool
) -> None:
    policy = CheckpointPolicy(monitor="loss", save_top_k=k, save_last=save_last)
    result = decide(_ckpts(values), policy)
    if values and save_last:
        assert result.last in result.keep
    if k >= 0:
        assert len(result.keep) <= k + (1 if save_last else 0)
    if result.best is not None and k != 0:
        scored = [v for v in values if v is not None]
        assert values[int(result.best[1:])] == min(scored)
