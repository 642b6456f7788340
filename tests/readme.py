"""The README's fenced blocks, for the tests that run them (tests/test_readme.py and the
install tests), so the README and what is tested can never drift apart."""

import re
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
_FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Block:
    language: str
    text: str
    line: int

    @property
    def first_line(self) -> str:
        return self.text.strip().splitlines()[0] if self.text.strip() else ""

    def commands(self) -> list[str]:
        """Shell commands, one per logical line (backslash continuations joined), without
        trailing comments or comment-only lines."""
        joined = re.sub(r"\\\n\s*", " ", self.text)
        commands = []
        for line in joined.splitlines():
            line = re.sub(r"\s+#\s.*$", "", line).strip()
            if line and not line.startswith("#"):
                commands.append(line)
        return commands


def blocks() -> list[Block]:
    text = README.read_text()
    return [
        Block(m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1)
        for m in _FENCE.finditer(text)
    ]


def block_starting(prefix: str) -> Block:
    [found] = [b for b in blocks() if b.text.lstrip().startswith(prefix)]
    return found
