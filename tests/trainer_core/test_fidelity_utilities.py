"""Lightning 1.0's public helpers and deprecation notices that 1.0 code meets (found with
scripts/lightning_suite.sh; issue 12): `apply_to_collection`, `parse_args_from_docstring`,
`metrics.functional.classification.auc`, and the warnings for 1.0's deprecated arguments."""

from __future__ import annotations

import numbers
from collections import namedtuple
from typing import Any

import numpy as np
import pytest
import torch

import trainer_core as pl
from trainer_core.callbacks import ModelCheckpoint
from trainer_core.exceptions import MisconfigurationException
from trainer_core.metrics.functional.classification import auc
from trainer_core.profiler import PassThroughProfiler, SimpleProfiler
from trainer_core.utilities.apply_func import apply_to_collection
from trainer_core.utilities.argparse_utils import parse_args_from_docstring

Pair = namedtuple("Pair", ["left", "right"])


def test_apply_to_collection_maps_the_chosen_types_and_keeps_every_container() -> None:
    data: dict[str, Any] = {
        "tensor": torch.tensor([1.0]),
        "list": [torch.tensor([2.0]), "text"],
        "tuple": (3,),
        "named": Pair(left=4.0, right=np.array([5.0])),
        "nested": {"deeper": [np.array([6.0])]},
        "text": "stays",
    }
    doubled = apply_to_collection(
        data, (torch.Tensor, numbers.Number, np.ndarray), lambda value: value * 2
    )
    assert torch.equal(doubled["tensor"], torch.tensor([2.0]))
    assert isinstance(doubled["list"], list) and doubled["list"][1] == "text"
    assert torch.equal(doubled["list"][0], torch.tensor([4.0]))
    assert doubled["tuple"] == (6,)
    assert isinstance(doubled["named"], Pair) and doubled["named"].left == 8.0
    assert doubled["named"].right.tolist() == [10.0]
    assert doubled["nested"]["deeper"][0].tolist() == [12.0]
    assert doubled["text"] == "stays"


def test_apply_to_collection_passes_extra_arguments() -> None:
    assert apply_to_collection([1, 2], int, lambda value, by: value + by, by=10) == [11, 12]


def test_parse_args_from_docstring_reads_the_args_section() -> None:
    found = parse_args_from_docstring(
        """Summary line.

        Args:
            root: where the data lives,
                on more than one line.
            count (int): how many
            flag: on or off

        Returns:
            nothing: not an argument
        """
    )
    assert found == {
        "root": "where the data lives, on more than one line.",
        "count": "how many",
        "flag": "on or off",
    }


def test_parse_args_from_docstring_without_arguments_is_empty() -> None:
    assert parse_args_from_docstring("Summary.\n\n    Args:\n\n    Returns:\n    ") == {}


def test_auc_integrates_by_the_trapezoidal_rule() -> None:
    x, y = torch.tensor([0, 1, 2, 3]), torch.tensor([0, 1, 2, 2])
    with pytest.deprecated_call(match="The `reorder` parameter to `auc` has been deprecated"):
        assert auc(x, y) == pytest.approx(4.0)
    assert auc(x.flip(0), y.flip(0), reorder=False) == pytest.approx(4.0)
    with pytest.raises(ValueError, match="neither increasing nor decreasing"):
        auc(torch.tensor([0.0, 2.0, 1.0]), torch.tensor([0.0, 1.0, 1.0]), reorder=False)


@pytest.mark.parametrize(
    ("flag", "expected"), [(True, SimpleProfiler), (False, PassThroughProfiler)]
)
def test_a_bool_profiler_still_works_with_1_0s_deprecation_warning(
    flag: bool, expected: type
) -> None:
    with pytest.deprecated_call(match="will be removed in v1.3"):
        trainer = pl.Trainer(profiler=flag)
    assert isinstance(trainer.profiler, expected)


def test_model_checkpoint_filepath_warns_and_refuses_dirpath_beside_it() -> None:
    with pytest.deprecated_call(match="will be removed in v1.2"):
        ModelCheckpoint(filepath=".")
    with pytest.deprecated_call(match="will be removed in v1.2"):
        ModelCheckpoint(".")
    with pytest.raises(MisconfigurationException, match="inputs which are not feasible"):
        ModelCheckpoint(filepath=".", dirpath=".")


def test_warnings_from_building_a_trainer_point_at_the_line_that_built_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Deprecations and advice given by `Trainer(...)` name the user's file and line (the
    Trainer's environment-variable wrapper adds a frame the warnings must step over)."""
    monkeypatch.setenv("COLAB_GPU", "1")
    with pytest.warns(Warning) as caught:
        pl.Trainer(profiler=True, logger=False)
        pl.Trainer(checkpoint_callback=ModelCheckpoint(), logger=False)
        pl.Trainer(num_processes=2, logger=False)
    assert {type(w.message) for w in caught} >= {DeprecationWarning, UserWarning}
    assert {w.filename for w in caught} == {__file__}
