"""The Trainer on the command line and as a base class (Lightning 1.0): bool-or-name flags,
unknown arguments, the argument list read from the signature, and subclass hooks."""

from __future__ import annotations

import inspect
from argparse import ArgumentParser, Namespace
from typing import Any

import pytest

import trainer_core as pl
from tests.trainer_core.models import RegressionModel, loader
from trainer_core.utilities import argparse_utils


def _parse(argv: list[str]) -> Namespace:
    parser = pl.Trainer.add_argparse_args(ArgumentParser(add_help=False))
    return parser.parse_args(argv)


@pytest.mark.parametrize(
    ("argv", "lr_find", "scale"),
    [
        (["--auto_lr_find", "--auto_scale_batch_size", "power"], True, "power"),
        (["--auto_lr_find", "my_lr", "--auto_scale_batch_size"], "my_lr", True),
        (["--auto_lr_find", "TRUE", "--auto_scale_batch_size", "off"], True, False),
        (["--auto_lr_find", "0", "--auto_scale_batch_size", "ON"], False, True),
        ([], False, False),
    ],
)
def test_tuning_flags_parse_as_switches_or_names(argv: list[str], lr_find: Any, scale: Any) -> None:
    args = _parse(argv)
    assert (args.auto_lr_find, args.auto_scale_batch_size) == (lr_find, scale)
    trainer = pl.Trainer.from_argparse_args(args, logger=False)
    assert (trainer.auto_lr_find, trainer.auto_scale_batch_size) == (lr_find, scale)


@pytest.mark.parametrize(
    ("argv", "parsed", "profiler"),
    [
        (["--profiler"], True, "SimpleProfiler"),
        (["--profiler", "True"], True, "SimpleProfiler"),
        (["--profiler", "False"], False, "PassThroughProfiler"),
        (["--profiler", "advanced"], "advanced", "AdvancedProfiler"),
        ([], None, "PassThroughProfiler"),
    ],
)
def test_profiler_flag_is_a_switch_or_a_name(argv: list[str], parsed: Any, profiler: str) -> None:
    args = _parse(argv)
    assert args.profiler == parsed
    trainer = pl.Trainer.from_argparse_args(args, logger=False)
    assert type(trainer.profiler).__name__ == profiler


def test_from_argparse_args_ignores_unknown_namespace_entries_but_not_unknown_overrides() -> None:
    trainer = pl.Trainer.from_argparse_args(Namespace(max_epochs=3, my_script_flag=1))
    assert trainer.max_epochs == 3
    with pytest.raises(TypeError, match=r"__init__\(\) got an unexpected keyword argument 'bogus'"):
        pl.Trainer.from_argparse_args(Namespace(max_epochs=3), bogus=0)


def test_an_unknown_flag_is_a_type_error_that_names_the_closest_flag() -> None:
    with pytest.raises(TypeError) as caught:
        pl.Trainer(max_epoch=2)  # type: ignore[call-arg]
    assert isinstance(caught.value, pl.MisconfigurationException)
    assert "did you mean 'max_epochs'" in str(caught.value)


def test_init_arguments_are_exactly_the_constructor_signature() -> None:
    arguments = argparse_utils.get_init_arguments_and_types(pl.Trainer)
    parameters = inspect.signature(pl.Trainer).parameters
    assert [name for name, _, _ in arguments] == list(parameters)
    assert all(parameters[name].default == default for name, _, default in arguments)
    assert pl.Trainer.default_attributes() == {n: d for n, _, d in arguments}
    trainer = pl.Trainer(**{name: default for name, _, default in arguments})
    assert isinstance(trainer, pl.Trainer)
    assert pl.Trainer.from_argparse_args(Namespace(**pl.Trainer.default_attributes()))


def test_a_subclass_adds_its_own_arguments_and_the_base_refuses_unknown_ones(
    tmp_path: Any,
) -> None:
    class Positional(pl.Trainer):
        def __init__(self, custom_arg: int, *args: Any, custom_kwarg: str = "x", **kwargs: Any):
            super().__init__(*args, **kwargs)
            self.custom_arg, self.custom_kwarg = custom_arg, custom_kwarg

    trainer = Positional(7, custom_kwarg="y", fast_dev_run=True, default_root_dir=str(tmp_path))
    assert trainer.fit(RegressionModel(), loader()) == 1
    assert (trainer.custom_arg, trainer.custom_kwarg, trainer.fast_dev_run) == (7, "y", True)

    class Popping(pl.Trainer):
        def __init__(self, **kwargs: Any) -> None:
            self.custom = kwargs.pop("custom", 0)
            super().__init__(**kwargs)

    assert Popping(custom=3, fast_dev_run=True).custom == 3
    with pytest.raises(TypeError, match=r"__init__\(\) got an unexpected keyword argument 'abc'"):
        Popping(abc=1)


def test_a_subclass_setup_hook_sees_the_model_and_stage(tmp_path: Any) -> None:
    class Recording(pl.Trainer):
        def setup(self, model: Any, stage: str) -> None:
            assert model is not None
            self.stage = stage

    trainer = Recording(default_root_dir=str(tmp_path), max_epochs=1, logger=False)
    model = RegressionModel()
    trainer.fit(model, loader(), loader())
    assert trainer.stage == "fit"
    trainer.test(model, loader(), ckpt_path=None)
    assert trainer.stage == "test"
