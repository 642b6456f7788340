"""dp/ddp2's split and gather, the pure half of their data flow (the strategies need CUDA).

The devices here are CPU stand-ins: the functions only chunk, move and merge tensors, so this
checks the shapes and order `training_step_end` receives, not any GPU behaviour."""

from __future__ import annotations

import torch
from hypothesis import given
from hypothesis import strategies as st

from trainer_core.strategies.dp import gather_outputs, mean_of_device_values, split_batch

CPU = torch.device("cpu")


@given(rows=st.integers(1, 17), devices=st.integers(1, 4))
def test_split_then_concatenate_gives_back_the_batch(rows: int, devices: int) -> None:
    x = torch.arange(rows * 2.0).reshape(rows, 2)
    y = torch.arange(rows)
    pieces = split_batch((x, y), [CPU] * devices)
    assert len(pieces) == len(torch.chunk(y, devices))
    assert torch.equal(torch.cat([p[0] for p in pieces]), x)
    assert torch.equal(torch.cat([p[1] for p in pieces]), y)


def test_split_keeps_dict_structure_and_passes_other_values_to_every_piece() -> None:
    batch = {"x": torch.arange(4.0), "name": "digits"}
    pieces = split_batch(batch, [CPU, CPU])
    assert [p["x"].tolist() for p in pieces] == [[0.0, 1.0], [2.0, 3.0]]
    assert [p["name"] for p in pieces] == ["digits", "digits"]


def test_gather_stacks_scalar_losses_one_per_device_and_concatenates_outputs() -> None:
    outputs = [
        {"loss": torch.tensor(1.0), "preds": torch.tensor([0, 1])},
        {"loss": torch.tensor(3.0), "preds": torch.tensor([2])},
    ]
    gathered = gather_outputs(outputs, CPU)
    assert gathered["loss"].tolist() == [1.0, 3.0]  # what *_step_end sees, as in 1.0
    assert gathered["preds"].tolist() == [0, 1, 2]


def test_without_step_end_the_per_device_losses_are_averaged() -> None:
    assert mean_of_device_values({"loss": torch.tensor([1.0, 3.0]), "n": 2})["loss"].item() == 2.0
    assert mean_of_device_values(torch.tensor([2.0, 4.0])).item() == 3.0
