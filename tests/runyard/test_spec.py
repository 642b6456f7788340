"""The experiment spec accepts what users write and names the field of what it rejects."""

import pytest
from pydantic import ValidationError

from runyard.schemas import (
    TERMINAL_STATES,
    ExperimentSpec,
    RunState,
    can_transition,
    parse_spec_text,
)

MINIMAL_YAML = """
name: digits
project: vision
model:
  entrypoint: examples.digits:DigitsClassifier
  init_args: {lr: 0.01}
"""


def test_minimal_yaml_spec_gets_documented_defaults():
    spec = parse_spec_text(MINIMAL_YAML)
    assert spec.model.init_args == {"lr": 0.01}
    assert spec.resources.gpus_per_node == 0 and spec.resources.nodes == 1
    assert spec.checkpoint.save_last is True
    assert spec.export.formats == ["torchscript", "onnx"]


def test_json_and_yaml_give_the_same_spec():
    as_yaml = parse_spec_text(MINIMAL_YAML)
    as_json = parse_spec_text(as_yaml.model_dump_json(), content_type="application/json")
    assert as_json == as_yaml


def test_unknown_trainer_flag_is_rejected_with_its_path():
    with pytest.raises(ValidationError) as info:
        ExperimentSpec.model_validate(
            {
                "name": "a",
                "project": "p",
                "model": {"entrypoint": "m:C"},
                "trainer": {"max_epoch": 3},
            }
        )
    assert info.value.errors()[0]["loc"] == ("trainer", "max_epoch")


def test_malformed_entrypoint_says_what_it_should_look_like():
    with pytest.raises(ValidationError, match=r"package\.module:ClassName"):
        ExperimentSpec.model_validate({"name": "a", "project": "p", "model": {"entrypoint": "m.C"}})


def test_grid_search_needs_explicit_values():
    with pytest.raises(ValidationError, match="needs a 'values' list"):
        ExperimentSpec.model_validate(
            {
                "name": "a",
                "project": "p",
                "model": {"entrypoint": "m:C"},
                "search": {
                    "method": "grid",
                    "parameters": {"model.init_args.lr": {"low": 0.1, "high": 1}},
                },
            }
        )


def test_spec_that_is_not_a_mapping_is_refused():
    with pytest.raises(ValueError, match="must be a mapping"):
        parse_spec_text("- just\n- a list\n")


def test_terminal_states_are_final_and_requeue_is_allowed_from_running():
    assert can_transition(RunState.running, RunState.queued)
    assert not can_transition(RunState.completed, RunState.running)
    assert not can_transition(RunState.canceled, RunState.queued)


def test_sampled_spaces_are_shorthands_for_ranges_and_choices():
    spec = ExperimentSpec.model_validate(
        {
            "name": "a",
            "project": "p",
            "model": {"entrypoint": "m:C"},
            "search": {
                "algorithm": "random",
                "num_trials": 3,
                "parameters": {
                    "model.init_args.a": {"uniform": [0, 1]},
                    "model.init_args.b": {"loguniform": [1e-3, 1]},
                    "model.init_args.c": {"int": [1, 8]},
                    "model.init_args.d": {"choice": ["x", "y"]},
                },
            },
        }
    )
    assert spec.search is not None
    assert spec.search.method == "random" and spec.search.max_trials == 3
    spaces = {name: space.model_dump() for name, space in spec.search.parameters.items()}
    assert spaces == {
        "model.init_args.a": {"values": None, "low": 0, "high": 1, "log": False, "integer": False},
        "model.init_args.b": {
            "values": None,
            "low": 1e-3,
            "high": 1,
            "log": True,
            "integer": False,
        },
        "model.init_args.c": {"values": None, "low": 1, "high": 8, "log": False, "integer": True},
        "model.init_args.d": {
            "values": ["x", "y"],
            "low": None,
            "high": None,
            "log": False,
            "integer": False,
        },
    }


def test_paused_trials_go_on_or_stop_and_only_running_ones_pause():
    assert can_transition(RunState.running, RunState.paused)
    assert can_transition(RunState.paused, RunState.queued)
    assert can_transition(RunState.paused, RunState.completed)
    assert not can_transition(RunState.queued, RunState.paused)
    assert RunState.paused not in TERMINAL_STATES
