"""Fixtures for trainer_core tests: every trainer test starts from the same seed."""

import pytest
import torch

import trainer_core as pl


@pytest.fixture(autouse=True)
def _seeded(request: pytest.FixtureRequest) -> None:
    if request.node.path.parent.name != "trainer_core":
        return  # the metrics and distributed suites (other owners) set up their own state
    pl.seed_everything(1234)
    torch.set_num_threads(1)  # the tests share two cores with other suites
