"""Lightning 1.0's `utilities.argparse_utils`: the Trainer's command-line helpers as functions
of the class (`argparse_utils.add_argparse_args(Trainer, parser)` and so on)."""

from __future__ import annotations

import re
from argparse import ArgumentParser, Namespace
from typing import Any

from trainer_core.trainer import argparse_flags


def add_argparse_args(cls: type, parent_parser: ArgumentParser) -> ArgumentParser:
    return argparse_flags.add_argparse_args(cls, parent_parser)


def from_argparse_args(cls: type, args: Namespace | ArgumentParser, **kwargs: Any) -> Any:
    return argparse_flags.from_argparse_args(cls, args, **kwargs)


def parse_argparser(cls: type, arg_parser: ArgumentParser | Namespace) -> Namespace:
    return argparse_flags.parse_argparser(cls, arg_parser)


def parse_env_variables(cls: type, template: str = "PL_%(cls_name)s_%(cls_argument)s") -> Namespace:
    return argparse_flags.parse_env_variables(cls, template)


_TYPES: dict[str, Any] = {"int": int, "float": float, "str": str, "bool": bool, "None": type(None)}


def get_init_arguments_and_types(cls: type) -> list[tuple[str, tuple[Any, ...], Any]]:
    """(name, accepted types, default) of every constructor flag of `cls`; types that are not
    builtins stay as their annotation text."""
    out = []
    for name, annotation, default in argparse_flags.init_arguments(cls):
        parts = [part.strip() for part in annotation.replace("'", "").split("|")]
        out.append((name, tuple(_TYPES.get(part, part) for part in parts), default))
    return out


_ARG_LINE = re.compile(r"^(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


def parse_args_from_docstring(docstring: str) -> dict[str, str]:
    """The `Args:` section of a Google-style docstring as {argument: help text}, in order;
    an argument's continuation lines join its text with single spaces. The section ends at
    the next line indented no deeper than `Args:` (the next section)."""
    found: dict[str, str] = {}
    section_indent: int | None = None
    arg_indent: int | None = None
    current: str | None = None
    for line in docstring.splitlines():
        text = line.strip()
        indent = len(line) - len(line.lstrip())
        if section_indent is None:
            if text == "Args:":
                section_indent = indent
            continue
        if not text:
            continue
        if indent <= section_indent:
            break
        if arg_indent is None:
            arg_indent = indent
        match = _ARG_LINE.match(text) if indent == arg_indent else None
        if match:
            current = match.group(1)
            found[current] = match.group(2)
        elif current is not None:
            found[current] = f"{found[current]} {text}".strip()
    return found
