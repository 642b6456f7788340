"""Spec validation errors as people read them: the field path, what is wrong, and for a
misspelt field the one that was probably meant ("unknown field 'max_epoch'; did you mean
'max_epochs'?"). Shared by the CLI, the SDK and the server's 422 answers."""

import difflib
import types
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import AliasChoices, BaseModel, ValidationError

from runyard.schemas.spec import ExperimentSpec

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class SpecProblem:
    loc: Loc
    message: str
    type: str

    @property
    def path(self) -> str:
        return ".".join(str(part) for part in self.loc) or "(document)"

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation can hold directly (`X`, `X | None`)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]
    return []


def _containers_of(annotation: Any) -> Any:
    """For `dict[str, X]` or `list[X]` (possibly optional): X, else None."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            inner = _containers_of(arg)
            if inner is not None:
                return inner
        return None
    if origin in (dict, list):
        return typing.get_args(annotation)[-1]
    return None


def model_at(loc: Loc, root: type[BaseModel] = ExperimentSpec) -> type[BaseModel] | None:
    """The model whose fields live at `loc` (e.g. ("trainer",) -> TrainerArgs), if any."""
    model: type[BaseModel] | None = root
    pending: Any = None  # the element type of a dict/list field, waiting for its key/index
    for part in loc:
        if pending is not None:
            models = _models_in(pending)
            model, pending = (models[0] if models else None), None
            continue
        if model is None or not isinstance(part, str) or part not in model.model_fields:
            return None
        annotation = model.model_fields[part].annotation
        models = _models_in(annotation)
        if models:
            model = models[0]
        else:
            pending = _containers_of(annotation)
            model = None
            if pending is None:
                return None
    return None if pending is not None else model


def _field_names(model: type[BaseModel]) -> set[str]:
    """Field names and the other names a field accepts (`algorithm` for `method`)."""
    names = set(model.model_fields)
    for info in model.model_fields.values():
        if isinstance(info.validation_alias, AliasChoices):
            names.update(c for c in info.validation_alias.choices if isinstance(c, str))
    return names


def _clean(message: str) -> str:
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _without_union_tag(loc: Loc, root: type[BaseModel]) -> Loc:
    """('trainer', 'limit_train_batches', 'float') -> ('trainer', 'limit_train_batches'): the
    last part names a member of the field's union type, not a field."""
    if len(loc) < 2 or not isinstance(loc[-1], str) or not isinstance(loc[-2], str):
        return loc
    owner = model_at(loc[:-2], root)
    if owner is None or loc[-2] not in owner.model_fields:
        return loc
    annotation = owner.model_fields[loc[-2]].annotation
    if _models_in(annotation) or _containers_of(annotation) is not None:
        return loc
    return loc[:-1]


def spec_problems(
    error: ValidationError, root: type[BaseModel] = ExperimentSpec
) -> list[SpecProblem]:
    """One problem per field, with a suggestion for unknown fields. Pydantic reports a value
    that fits no member of a union once per member ('...float', '...int'); those are merged."""
    merged: dict[Loc, SpecProblem] = {}
    for err in error.errors():
        loc: Loc = tuple(err["loc"])
        parent = model_at(loc[:-1], root) if loc else None
        if err["type"] == "extra_forbidden" and loc:
            known = sorted(_field_names(parent)) if parent else []
            name = str(loc[-1])
            guess = (
                difflib.get_close_matches(name, known, n=1, cutoff=0.6)
                or [k for k in known if k.startswith(name) or name.startswith(k)][:1]
            )
            hint = f"did you mean {guess[0]!r}?" if guess else f"known fields: {', '.join(known)}"
            message = f"unknown field {loc[-1]!r}; {hint}" if known else "unknown field"
        else:
            message = _clean(err["msg"])
            loc = _without_union_tag(loc, root)
        if loc in merged and message not in merged[loc].message:
            message = f"{merged[loc].message}, or {message}"
        elif loc in merged:
            continue
        merged[loc] = SpecProblem(loc=loc, message=message, type=err["type"])
    return list(merged.values())
