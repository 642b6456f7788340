"""Lightning 1.0's hyperparameter files (`pytorch_lightning.core.saving`): YAML and the old
`meta_tags.csv` (key,value rows)."""

from __future__ import annotations

import ast
import csv
import os
from argparse import Namespace
from typing import Any

import yaml

from trainer_core.loggers.versions import write_hparams_yaml


def load_hparams_from_yaml(config_yaml: str) -> dict[str, Any]:
    """The hyperparameters stored in `config_yaml` ({} when the file does not exist)."""
    if not os.path.isfile(config_yaml):
        return {}
    with open(config_yaml) as fh:
        return yaml.safe_load(fh) or {}


def save_hparams_to_yaml(config_yaml: str, hparams: dict[str, Any] | Namespace) -> None:
    if isinstance(hparams, Namespace):
        hparams = vars(hparams)
    write_hparams_yaml(config_yaml, dict(hparams))


def load_hparams_from_tags_csv(tags_csv: str) -> dict[str, Any]:
    if not os.path.isfile(tags_csv):
        return {}
    with open(tags_csv, newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=","))
    return {row["key"]: _literal(row["value"]) for row in rows}


def save_hparams_to_tags_csv(tags_csv: str, hparams: dict[str, Any] | Namespace) -> None:
    if isinstance(hparams, Namespace):
        hparams = vars(hparams)
    with open(tags_csv, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["key", "value"], delimiter=",")
        writer.writerow({"key": "key", "value": "value"})
        for key, value in hparams.items():
            writer.writerow({"key": key, "value": value})


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
