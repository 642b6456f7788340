"""Lightning 1.0's import paths that user code (and 1.0's own tests) import from."""

from __future__ import annotations

from typing import Any

import pytest

import trainer_core as pl
from trainer_core.exceptions import MisconfigurationException


def test_the_1_0_module_paths_name_the_same_classes() -> None:
    from trainer_core.core.lightning import LightningModule
    from trainer_core.utilities import AttributeDict
    from trainer_core.utilities.exceptions import MisconfigurationException as Misconfigured

    assert LightningModule is pl.LightningModule
    assert Misconfigured is MisconfigurationException
    assert AttributeDict is pl.AttributeDict


def test_rank_zero_only_runs_on_rank_zero_and_skips_other_ranks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from trainer_core.utilities import rank_zero_only

    calls: list[int] = []

    @rank_zero_only
    def record(value: int) -> int:
        calls.append(value)
        return value

    assert record(1) == 1
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert record(2) is None
    assert calls == [1]


def test_deprecated_result_objects_import_but_say_what_to_write_instead() -> None:
    from trainer_core.core.step_result import EvalResult, TrainResult

    for cls in (TrainResult, EvalResult):
        with pytest.raises(MisconfigurationException, match=r"self\.log"):
            cls()


def test_test_tube_logger_without_test_tube_says_to_install_it() -> None:
    import importlib.util

    from trainer_core.loggers import TestTubeLogger

    if importlib.util.find_spec("test_tube") is not None:
        pytest.skip("test-tube is installed here")
    with pytest.raises(ImportError, match="pip install test-tube"):
        TestTubeLogger("logs")


def test_hparams_files_round_trip_through_yaml_and_tags_csv(tmp_path: Any) -> None:
    from trainer_core.core.saving import (
        load_hparams_from_tags_csv,
        load_hparams_from_yaml,
        save_hparams_to_tags_csv,
        save_hparams_to_yaml,
    )

    hparams = {
        "batch_size": 32,
        "learning_rate": 0.001,
        "data_root": "./any/path/here",
        "nasted": {"any_num": 123},
    }
    save_hparams_to_yaml(str(tmp_path / "hparams.yaml"), hparams)
    assert load_hparams_from_yaml(str(tmp_path / "hparams.yaml")) == hparams
    flat = {k: v for k, v in hparams.items() if k != "nasted"}
    save_hparams_to_tags_csv(str(tmp_path / "meta_tags.csv"), flat)
    assert load_hparams_from_tags_csv(str(tmp_path / "meta_tags.csv")) == flat
    assert load_hparams_from_yaml(str(tmp_path / "missing.yaml")) == {}
