"""Strategy selection from the 1.0 device flags, and the single-device strategy contract.

The distributed strategies have their own tests; these cover the single-process contract."""

import pytest
import torch

from trainer_core.exceptions import MisconfigurationException, TrainerCoreError
from trainer_core.strategies import SingleDeviceStrategy, Strategy, select_strategy


def test_no_device_flags_select_a_single_cpu_strategy() -> None:
    strategy = select_strategy()
    assert isinstance(strategy, SingleDeviceStrategy)
    assert strategy.root_device == torch.device("cpu")
    assert (
        strategy.global_rank,
        strategy.local_rank,
        strategy.world_size,
        strategy.is_global_zero,
    ) == (0, 0, 1, True)


def test_unknown_accelerator_is_refused_naming_the_flag() -> None:
    with pytest.raises(MisconfigurationException, match="accelerator='tpu_pod'"):
        select_strategy(accelerator="tpu_pod")


def test_backends_trainer_core_does_not_run_are_refused_naming_the_flag() -> None:
    with pytest.raises(MisconfigurationException, match="accelerator='horovod'"):
        select_strategy(accelerator="horovod")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only message")
def test_gpus_without_cuda_say_to_use_the_cpu() -> None:
    with pytest.raises(MisconfigurationException, match="gpus=0"):
        select_strategy(gpus=1)


def test_misconfiguration_is_a_trainer_core_error_and_a_value_error() -> None:
    assert issubclass(MisconfigurationException, TrainerCoreError)
    assert issubclass(MisconfigurationException, ValueError)


def test_single_device_collectives_are_identities() -> None:
    strategy = SingleDeviceStrategy("cpu")
    value = torch.tensor(3.0)
    assert strategy.reduce(value, "sum") is value
    assert strategy.broadcast({"a": 1}) == {"a": 1}
    assert strategy.all_gather(value).shape == (1,)
    assert isinstance(strategy, Strategy)
