"""Metric series of runs: storage, the downsampled query, and the API routes."""
