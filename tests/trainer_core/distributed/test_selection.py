"""Which strategy the 1.0 flags select, and the clear refusals (dp/ddp2 without GPUs)."""

from __future__ import annotations

import pytest
import torch

import trainer_core as pl
from trainer_core.exceptions import MisconfigurationException
from trainer_core.strategies import (
    DDPSpawnStrategy,
    DDPStrategy,
    SingleDeviceStrategy,
    select_strategy,
)
from trainer_core.strategies.environment import ClusterEnvironment

needs_no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the GPU-less message")


@pytest.fixture(autouse=True)
def _no_rank_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "LOCAL_RANK",
        "NODE_RANK",
        "GROUP_RANK",
        "WORLD_SIZE",
        "MASTER_ADDR",
        "MASTER_PORT",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("flag", ["accelerator", "distributed_backend"])
def test_ddp_cpu_selects_spawned_cpu_processes(flag: str) -> None:
    strategy = select_strategy(**{flag: "ddp_cpu"}, num_processes=2)
    assert isinstance(strategy, DDPSpawnStrategy)
    assert strategy.world_size == 2
    assert strategy.root_device == torch.device("cpu")
    assert strategy.backend == "gloo"


def test_ddp_without_gpus_runs_num_processes_cpu_ranks() -> None:
    strategy = select_strategy(accelerator="ddp", num_processes=3)
    assert type(strategy) is DDPStrategy
    assert (strategy.world_size, strategy.global_rank, strategy.is_global_zero) == (3, 0, True)


@pytest.mark.parametrize("backend", ["ddp", "ddp_spawn"])
def test_ddp_over_one_cpu_process_on_one_node_trains_in_this_process(backend: str) -> None:
    """Lightning 1.0: `Trainer(accelerator='ddp')` without GPUs, processes or nodes to spread
    over is no ddp (use_ddp is False); the run stays in the launching process."""
    strategy = select_strategy(accelerator=backend)
    assert type(strategy) is SingleDeviceStrategy
    assert strategy.root_device == torch.device("cpu")
    trainer = pl.Trainer(accelerator=backend, logger=False, checkpoint_callback=False)
    assert (trainer.use_ddp, trainer.num_processes, trainer.on_gpu) == (False, 1, False)


def test_num_processes_without_accelerator_means_ddp_cpu_as_in_1_0() -> None:
    with pytest.warns(UserWarning, match="ddp_cpu"):
        strategy = select_strategy(num_processes=2)
    assert isinstance(strategy, DDPSpawnStrategy)


def test_num_nodes_without_a_distributed_accelerator_is_refused() -> None:
    with pytest.raises(MisconfigurationException, match=r"num_nodes=2.*accelerator='ddp'"):
        select_strategy(num_nodes=2)


@needs_no_cuda
@pytest.mark.parametrize("backend", ["dp", "ddp2"])
@pytest.mark.parametrize("gpus", [None, 2])
def test_dp_and_ddp2_refuse_a_machine_without_gpus(backend: str, gpus: int | None) -> None:
    with pytest.raises(MisconfigurationException, match=f"accelerator='{backend}'.*ddp_cpu"):
        select_strategy(accelerator=backend, gpus=gpus)


def test_ranks_come_from_the_environment_a_worker_sets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NODE_RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("MASTER_ADDR", "10.0.0.5")
    monkeypatch.setenv("MASTER_PORT", "29500")
    strategy = select_strategy(accelerator="ddp", num_nodes=2)
    assert isinstance(strategy, DDPStrategy)
    assert (strategy.node_rank, strategy.global_rank, strategy.world_size) == (1, 1, 2)
    assert not strategy.is_global_zero


def test_local_rank_in_the_environment_joins_as_that_rank(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCAL_RANK", "1")
    strategy = select_strategy(accelerator="ddp", num_processes=2)
    assert isinstance(strategy, DDPStrategy)
    assert (strategy.local_rank, strategy.global_rank) == (1, 1)
    assert not strategy._must_launch()


def test_world_size_contradicting_the_flags_is_refused_naming_both() -> None:
    env = ClusterEnvironment.from_env({"WORLD_SIZE": "4", "MASTER_PORT": "1"})
    with pytest.raises(MisconfigurationException, match=r"WORLD_SIZE=4.*num_nodes=2"):
        env.check_against(num_nodes=2, processes_per_node=1)


def test_multi_node_without_master_port_says_what_to_set() -> None:
    env = ClusterEnvironment.from_env({"NODE_RANK": "0"})
    with pytest.raises(MisconfigurationException, match="MASTER_PORT"):
        env.check_against(num_nodes=2, processes_per_node=1)


def test_non_integer_rank_variable_is_refused_naming_it() -> None:
    with pytest.raises(MisconfigurationException, match="NODE_RANK='one'"):
        ClusterEnvironment.from_env({"NODE_RANK": "one"})
