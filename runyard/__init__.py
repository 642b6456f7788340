"""Runyard's client side and wire formats: the CLI, the Python SDK, and the pydantic models
(experiment spec, events, task payloads) that the server and the workers both import."""

__version__ = "0.1.0"
