"""Strategy selection from the 1.0 device flags, and the single-device strategy contract."""

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


@pytest.mark.parametrize("backend", ["dp", "ddp", "ddp_spawn", "ddp2", "ddp_cpu"])
def test_distributed_accelerators_are_refused_naming_the_flag(backend: str) -> None:
    with pytest.raises(MisconfigurationException, match=f"accelerator='{backend}'"):
        select_strategy(accelerator=backend)


def test_distributed_backend_alias_is_refused_like_accelerator() -> None:
    with pytest.raises(MisconfigurationException, match="ddp"):
        select_strategy(distributed_backend="ddp")


def test_several_processes_are_refused_naming_num_processes() -> None:
    with pytest.raises(MisconfigurationException, match="num_processes=2"):
        select_strategy(num_processes=2)


def test_several_nodes_are_refused_naming_num_nodes() -> None:
    with pytest.raises(MisconfigurationException, match="num_nodes=2"):
        select_strategy(num_nodes=2)


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
