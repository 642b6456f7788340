"""Prometheus metrics of the server: requests, ingestion, ingest lag. One registry per app."""

from server.observability.instruments import Instruments, install_observability

__all__ = ["Instruments", "install_observability"]
