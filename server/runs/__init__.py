"""Runs: listing, cancel, state transitions."""
