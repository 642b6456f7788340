"""Trainer flags on the command line: Lightning 1.0's `Trainer.add_argparse_args(parser)`,
`Trainer.from_argparse_args(args, **overrides)`, `Trainer.parse_argparser(parser_or_args)`
`Trainer.get_init_arguments_and_types()` and `Trainer.match_env_arguments()` (the
`PL_TRAINER_<FLAG>` environment variables), read from the Trainer's own signature.

A flag's type comes from its annotation: bool flags take `--flag`, `--flag true|false`
(bool-or-str flags such as `auto_lr_find` also take a name: `--auto_lr_find my_lr`);
ints, floats and strings parse as such; flags that accept several kinds (`gpus` as an int, a
string or a list) keep the string unless it reads as an int or float.
"""

from __future__ import annotations

import ast
import inspect
import os
from argparse import ArgumentParser, Namespace
from typing import Any

_TRUE = ("1", "true", "t", "yes", "y", "on")
_FALSE = ("0", "false", "f", "no", "n", "off")


def _to_bool(text: str) -> bool:
    lowered = str(text).lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"expected a boolean, got {text!r}")


def _bool_or_text(text: str) -> bool | str:
    """`--auto_lr_find my_lr` names a field; `--auto_lr_find true|on|0...` is a switch."""
    lowered = str(text).lower()
    if lowered in _TRUE or lowered in _FALSE:
        return _to_bool(text)
    return text


def _number_or_text(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    if text.lower() in ("none",):
        return None
    if text.lower() in ("true", "false"):
        return _to_bool(text)
    return text


def init_arguments(trainer_cls: type) -> list[tuple[str, str, Any]]:
    """(name, annotation text, default) of every constructor flag."""
    out = []
    for name, param in inspect.signature(trainer_cls).parameters.items():
        if param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
            continue
        annotation = param.annotation
        # a class without `from __future__ import annotations` has real types: use their names
        text = annotation.__name__ if isinstance(annotation, type) else str(annotation)
        out.append((name, text, param.default))
    return out


def add_argparse_args(trainer_cls: type, parent_parser: ArgumentParser) -> ArgumentParser:
    parser = ArgumentParser(parents=[parent_parser], add_help=False)
    for name, annotation, default in init_arguments(trainer_cls):
        kinds = {part.strip() for part in annotation.replace("'", "").split("|")}
        if kinds <= {"bool", "None"} and isinstance(default, bool):
            parser.add_argument(f"--{name}", type=_to_bool, nargs="?", const=True, default=default)
        elif kinds == {"bool", "str"} and isinstance(default, bool):
            parser.add_argument(
                f"--{name}", type=_bool_or_text, nargs="?", const=True, default=default
            )
        elif "bool" in kinds and kinds <= {"bool", "str", "None", "BaseProfiler"}:
            # `--profiler` alone switches it on; `--profiler simple` names one (Lightning 1.0)
            parser.add_argument(
                f"--{name}", type=_bool_or_text, nargs="?", const=True, default=default
            )
        elif kinds <= {"int", "None"}:
            parser.add_argument(f"--{name}", type=int, default=default)
        elif kinds <= {"float", "None"}:
            parser.add_argument(f"--{name}", type=float, default=default)
        elif kinds <= {"str", "None"}:
            parser.add_argument(f"--{name}", type=str, default=default)
        else:
            parser.add_argument(f"--{name}", type=_number_or_text, default=default)
    return parser


def from_argparse_args(trainer_cls: type, args: Namespace | ArgumentParser, **kwargs: Any) -> Any:
    if isinstance(args, ArgumentParser):
        args = parse_argparser(trainer_cls, args)
    names = {name for name, _, _ in init_arguments(trainer_cls)}
    flags = {k: v for k, v in vars(args).items() if k in names}
    flags.update(kwargs)
    return trainer_cls(**flags)


def parse_argparser(trainer_cls: type, arg_parser: ArgumentParser | Namespace) -> Namespace:
    args = arg_parser.parse_args() if isinstance(arg_parser, ArgumentParser) else arg_parser
    return args


def parse_env_variables(cls: type, template: str = "PL_%(cls_name)s_%(cls_argument)s") -> Namespace:
    """The constructor flags of `cls` that are set (non-empty) in the environment."""
    found: dict[str, Any] = {}
    for name, _, _ in init_arguments(cls):
        variable = template % {"cls_name": cls.__name__.upper(), "cls_argument": name.upper()}
        text = os.environ.get(variable)
        if text:
            found[name] = literal_or_text(text)
    return Namespace(**found)


def literal_or_text(text: str) -> Any:
    """An environment value: a Python literal, or else the string itself (1.0 evaluates it
    as an expression; a literal reads the same and runs no code from the environment)."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


class TrainerArgparseMixin:
    """Mixed into `Trainer`: Lightning 1.0's argparse classmethods."""

    @classmethod
    def add_argparse_args(cls, parent_parser: ArgumentParser) -> ArgumentParser:
        return add_argparse_args(cls, parent_parser)

    @classmethod
    def from_argparse_args(cls, args: Namespace | ArgumentParser, **kwargs: Any) -> Any:
        return from_argparse_args(cls, args, **kwargs)

    @classmethod
    def parse_argparser(cls, arg_parser: ArgumentParser | Namespace) -> Namespace:
        return parse_argparser(cls, arg_parser)

    @classmethod
    def match_env_arguments(cls) -> Namespace:
        """The flags set as `PL_TRAINER_<FLAG>` environment variables (trainer.env_flags)."""
        return parse_env_variables(cls)

    @classmethod
    def get_init_arguments_and_types(cls) -> list[tuple[str, str, Any]]:
        return init_arguments(cls)

    @classmethod
    def default_attributes(cls) -> dict[str, Any]:
        """Every constructor flag with its default (`Namespace(**Trainer.default_attributes())`
        is what an empty command line parses to)."""
        return {name: default for name, _, default in init_arguments(cls)}
