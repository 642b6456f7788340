"""Functional metrics: one batch in, one value out; the classes accumulate the same helpers."""

from trainer_core.metrics.functional.accuracy import accuracy

__all__ = ["accuracy"]
