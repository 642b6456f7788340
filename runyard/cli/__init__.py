"""The `runyard` command line; see `runyard.cli.main`."""

from runyard.cli.main import app, main

__all__ = ["app", "main"]
