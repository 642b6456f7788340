"""What every command shares: the server options, the SDK client, and the consoles."""

import sys
from dataclasses import dataclass

from rich.console import Console

from runyard.client import Client, RunyardError


class CliError(RunyardError):
    """A mistake the user can fix; printed as `runyard: <message>`, exit status 1."""


@dataclass(frozen=True)
class Session:
    url: str | None
    token: str | None

    def client(self) -> Client:
        return Client(self.url, self.token)


def _console(stream: object, stderr: bool) -> Console:
    interactive = bool(getattr(stream, "isatty", lambda: False)())
    # Piped output keeps whole lines (a table cell is never wrapped at 80 columns for grep).
    # No markup: names, parameters and messages are printed as they are, brackets included.
    return Console(stderr=stderr, width=None if interactive else 200, highlight=False, markup=False)


def out() -> Console:
    """Standard output, looked up at each call (tests and pipes replace sys.stdout)."""
    return _console(sys.stdout, stderr=False)


def err() -> Console:
    return _console(sys.stderr, stderr=True)


def interactive() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()
