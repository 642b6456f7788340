"""The experiment spec accepts what users write and names the field of what it rejects."""

import pytest
from pydantic import ValidationError

from runyard.schemas import ExperimentSpec, RunState, can_transition, parse_spec_text

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


def test_non_finite_metric_values_travel_as_null_and_keep_their_event():
    from datetime import UTC, datetime

    from runyard.schemas import EventAdapter, MetricsEvent

    event = MetricsEvent(
        run_id="r",
        attempt=1,
        fence=1,
        worker="w1",
        seq=0,
        ts=datetime.now(UTC),
        points=[
            {"key": "loss", "step": 0, "value": float("nan"), "wall_time": 0.0},
            {"key": "loss", "step": 1, "value": 0.5, "wall_time": 1.0},
        ],
    )
    decoded = EventAdapter.validate_json(event.model_dump_json())
    assert [p.value for p in decoded.points] == [None, 0.5]


@pytest.mark.parametrize(
    ("written", "size"),
    [
        ("4Gi", 4 << 30),
        ("512Mi", 512 << 20),
        ("1.5Gi", 3 << 29),
        ("2G", 2 * 10**9),
        (1 << 30, 1 << 30),
    ],
)
def test_resources_memory_is_written_like_kubernetes_and_kept_as_bytes(written, size):
    spec = parse_spec_text(MINIMAL_YAML + f"resources: {{memory: {written}}}\n")
    assert spec.resources.memory == size
    assert ExperimentSpec.model_validate_json(spec.model_dump_json()).resources.memory == size


@pytest.mark.parametrize(
    ("written", "hint"), [("100Mi", "at least 512 MiB"), ("lots", "like '4Gi'"), ("-1Gi", "like")]
)
def test_a_bad_or_too_small_memory_limit_names_the_field_and_the_fix(written, hint):
    with pytest.raises(ValidationError) as error:
        parse_spec_text(MINIMAL_YAML + f"resources: {{memory: '{written}'}}\n")
    [problem] = error.value.errors()
    assert problem["loc"] == ("resources", "memory") and hint in problem["msg"]


def test_processes_default_is_generous_and_has_a_floor():
    assert parse_spec_text(MINIMAL_YAML).resources.processes >= 4096
    with pytest.raises(ValidationError, match="processes"):
        parse_spec_text(MINIMAL_YAML + "resources: {processes: 3}\n")


def test_memory_sizes_are_shown_in_binary_units():
    from runyard.schemas.sizes import format_memory

    assert format_memory(4 << 30) == "4.0 GiB"
    assert format_memory(512 << 20) == "512 MiB"
    assert format_memory(3 << 29) == "1.5 GiB"
