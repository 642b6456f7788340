"""The DistributedSampler the trainer inserts: disjoint shares, shuffle only for training."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler, TensorDataset

from trainer_core.strategies.sampler import EpochAwareDistributedSampler, with_distributed_sampler

DATA = TensorDataset(torch.arange(20.0))


def _indices(loader: DataLoader) -> list[int]:  # type: ignore[type-arg]
    return [int(v) for (batch,) in loader for v in batch]


def _split(loader: DataLoader, is_train: bool, epoch: int = 0) -> list[DataLoader]:  # type: ignore[type-arg]
    return [
        with_distributed_sampler(
            loader, num_replicas=2, rank=rank, is_train=is_train, epoch_source=lambda: epoch
        )
        for rank in (0, 1)
    ]


def test_ranks_read_disjoint_shares_that_cover_the_dataset() -> None:
    shares = [_indices(loader) for loader in _split(DataLoader(DATA, batch_size=3), is_train=False)]
    assert not set(shares[0]) & set(shares[1])
    assert sorted(shares[0] + shares[1]) == list(range(20))


def test_training_loader_that_shuffled_stays_shuffled_and_eval_loaders_keep_order() -> None:
    train = _split(DataLoader(DATA, batch_size=4, shuffle=True), is_train=True)[0]
    val = _split(DataLoader(DATA, batch_size=4, shuffle=True), is_train=False)[0]
    assert train.sampler.shuffle and not val.sampler.shuffle
    assert _indices(val) == list(range(0, 20, 2))


def test_shuffle_changes_with_the_epoch_but_agrees_across_ranks() -> None:
    loader = DataLoader(DATA, batch_size=4, shuffle=True)
    epoch0 = [_indices(share) for share in _split(loader, is_train=True, epoch=0)]
    epoch1 = [_indices(share) for share in _split(loader, is_train=True, epoch=1)]
    assert epoch0[0] != epoch1[0]
    for shares in (epoch0, epoch1):
        assert sorted(shares[0] + shares[1]) == list(range(20))


def test_loader_settings_survive_the_rebuild() -> None:
    def collate(items: list[tuple[torch.Tensor]]) -> torch.Tensor:
        return torch.stack([item[0] for item in items]) * 10

    loader = DataLoader(DATA, batch_size=3, drop_last=True, collate_fn=collate)
    rebuilt = _split(loader, is_train=True)[0]
    assert isinstance(rebuilt.sampler, EpochAwareDistributedSampler)
    assert (rebuilt.batch_size, rebuilt.drop_last, rebuilt.collate_fn) == (3, True, collate)


def test_a_users_distributed_sampler_is_kept() -> None:
    own = DistributedSampler(DATA, num_replicas=2, rank=1, shuffle=False)
    loader = DataLoader(DATA, batch_size=4, sampler=own)
    assert _split(loader, is_train=True)[0] is loader


def test_iterables_without_a_dataset_are_left_alone() -> None:
    batches = [torch.zeros(2), torch.ones(2)]
    assert _split(batches, is_train=True)[0] is batches  # type: ignore[arg-type]


def test_random_sampler_detection_uses_the_loaders_sampler() -> None:
    loader = DataLoader(DATA, sampler=RandomSampler(DATA), batch_size=2)
    assert _split(loader, is_train=True)[0].sampler.shuffle
