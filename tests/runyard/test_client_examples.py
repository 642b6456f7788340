"""Every example spec is valid and names entrypoints that import."""

import importlib
from pathlib import Path

import pytest

from runyard.client import load_spec

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))


def test_there_are_the_digits_and_gan_examples():
    assert {p.stem for p in EXAMPLES} >= {"digits", "gan"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_spec_is_valid_and_its_entrypoints_import(path):
    spec = load_spec(path)
    for entry in (spec.model, spec.datamodule):
        if entry is None:
            continue
        module, _, name = entry.entrypoint.partition(":")
        assert hasattr(importlib.import_module(module), name), entry.entrypoint
