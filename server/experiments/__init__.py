"""Experiments: submitted specs, search expansion into runs."""
