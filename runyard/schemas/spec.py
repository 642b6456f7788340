"""The experiment spec: what a user submits, as JSON or YAML.

Every model forbids unknown fields, so a typo (`max_epoch`) is a 422 naming the field rather
than a silently ignored setting.
"""

import json
import re
from typing import Annotated, Any, Literal, Self

import yaml
from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from runyard.schemas.sizes import MEMORY_PATTERN, format_memory, parse_memory

_ENTRYPOINT = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EntrypointSpec(_Strict):
    """A class to instantiate on the worker, as `package.module:Class`."""

    entrypoint: Annotated[str, Field(examples=["examples.digits:DigitsClassifier"])]
    init_args: dict[str, Any] = Field(default_factory=dict)

    @field_validator("entrypoint")
    @classmethod
    def _check_entrypoint(cls, value: str) -> str:
        if not _ENTRYPOINT.match(value):
            raise ValueError(
                f"entrypoint {value!r} must look like 'package.module:ClassName' "
                "(a dotted module path, a colon, then the class name)"
            )
        return value


class TrainerArgs(_Strict):
    """The Trainer flags a user may set from a spec. Devices, loggers and checkpoint paths are
    the worker's to decide, so they are not here."""

    max_epochs: int | None = Field(default=None, ge=1)
    min_epochs: int | None = Field(default=None, ge=0)
    max_steps: int | None = Field(default=None, ge=1)
    limit_train_batches: float | int = Field(default=1.0, gt=0)
    limit_val_batches: float | int = Field(default=1.0, ge=0)
    limit_test_batches: float | int = Field(default=1.0, ge=0)
    val_check_interval: float | int = Field(default=1.0, gt=0)
    check_val_every_n_epoch: int = Field(default=1, ge=1)
    accumulate_grad_batches: int = Field(default=1, ge=1)
    gradient_clip_val: float = Field(default=0.0, ge=0)
    precision: Literal[16, 32, "bf16"] = 32
    deterministic: bool = False
    log_every_n_steps: int = Field(default=50, ge=1)
    num_sanity_val_steps: int = Field(default=2, ge=-1)
    automatic_optimization: bool | None = None
    seed: int | None = Field(default=None, ge=0, description="passed to seed_everything")


# Below this a run cannot even import its Python environment (torch alone takes ~300 MiB).
MIN_RUN_MEMORY = 512 << 20

MemorySize = Annotated[
    int,
    BeforeValidator(parse_memory),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": MIN_RUN_MEMORY},
                {"type": "string", "pattern": MEMORY_PATTERN},
            ],
            "examples": ["4Gi", "512Mi"],
        }
    ),
]


class Resources(_Strict):
    gpus_per_node: int = Field(default=0, ge=0, le=64, description="0 trains on CPU")
    nodes: int = Field(default=1, ge=1, le=64)
    memory: MemorySize | None = Field(
        default=None,
        description="memory limit per node, e.g. '4Gi' or '512Mi' (kept as bytes); a run "
        "that exceeds it fails. Unset: no limit beyond the worker machine's",
    )
    processes: int = Field(
        default=16384,
        ge=64,
        le=4_194_304,
        description="most processes and threads the run may have at once on a node",
    )

    @field_validator("memory")
    @classmethod
    def _check_memory(cls, value: int | None) -> int | None:
        if value is not None and value < MIN_RUN_MEMORY:
            raise ValueError(
                f"resources.memory must be at least {format_memory(MIN_RUN_MEMORY)} ('512Mi'): "
                f"the Python environment alone takes a few hundred MiB; got {format_memory(value)}"
            )
        return value

    @property
    def slots(self) -> int:
        """Slots the run reserves in all: a CPU-only run still takes one slot per node."""
        return max(self.gpus_per_node, 1) * self.nodes


class CheckpointPolicy(_Strict):
    monitor: str | None = Field(default=None, description="logged key to rank checkpoints by")
    mode: Literal["min", "max"] = "min"
    save_top_k: int = Field(default=1, ge=-1, description="-1 keeps every checkpoint")
    save_last: bool = True


ExportFormat = Literal["torchscript", "onnx"]
_ALL_EXPORT_FORMATS: tuple[ExportFormat, ...] = ("torchscript", "onnx")


class ExportPolicy(_Strict):
    formats: list[ExportFormat] = Field(default_factory=lambda: list(_ALL_EXPORT_FORMATS))
    torchscript_method: Literal["script", "trace"] = "trace"


_SAMPLED_FORMS = ("uniform", "loguniform", "int", "choice")


def _sampled_form(data: Any) -> Any:
    """`{uniform: [low, high]}`, `{loguniform: [low, high]}`, `{int: [low, high]}` and
    `{choice: [a, b, ...]}` are short for the explicit fields below."""
    if not isinstance(data, dict):
        return data
    forms = [key for key in _SAMPLED_FORMS if key in data]
    if not forms:
        return data
    if len(data) != 1:
        others = sorted(str(key) for key in data if key != forms[0])
        raise ValueError(
            f"'{forms[0]}' stands alone: remove {', '.join(repr(k) for k in others)} "
            "(or spell the space out with values/low/high/log/integer)"
        )
    form = forms[0]
    value = data[form]
    if form == "choice":
        if not isinstance(value, list):
            raise ValueError("'choice' needs a list of values, e.g. {choice: [32, 64, 128]}")
        return {"values": value}
    if not (isinstance(value, list) and len(value) == 2):
        raise ValueError(f"'{form}' needs [low, high], e.g. {{{form}: [1, 10]}}")
    low, high = value
    return {"low": low, "high": high, "log": form == "loguniform", "integer": form == "int"}


class ParamSpace(_Strict):
    """One searched hyperparameter: either explicit `values`, or a numeric range. The sampled
    forms `{uniform: [low, high]}`, `{loguniform: [low, high]}`, `{int: [low, high]}` and
    `{choice: [...]}` are accepted as shorthands."""

    values: list[Any] | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return _sampled_form(data)

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        has_range = self.low is not None or self.high is not None
        if self.values is not None and has_range:
            raise ValueError("give either 'values' or 'low'/'high', not both")
        if self.values is None and not has_range:
            raise ValueError(
                "give 'values' (a list) or a range with 'low' and 'high' (or one of "
                "{uniform: [low, high]}, {loguniform: [low, high]}, {int: [low, high]}, "
                "{choice: [...]})"
            )
        if self.values is not None and not self.values:
            raise ValueError("'values' must not be empty")
        if has_range:
            if self.low is None or self.high is None:
                raise ValueError("a range needs both 'low' and 'high'")
            if self.low > self.high:
                raise ValueError(f"'low' ({self.low}) must not exceed 'high' ({self.high})")
            if self.log and self.low <= 0:
                raise ValueError("a log range needs 'low' > 0")
        return self


_ASHA_FIELDS = ("metric", "mode", "resource", "grace_period", "reduction_factor")


class SearchSpec(_Strict):
    """A hyperparameter search that expands into several runs.

    Parameter names are dotted paths into the spec, e.g. `model.init_args.lr`. `algorithm`
    and `method` are two names of one field, as are `num_trials` and `max_trials`.

    `asha` (asynchronous successive halving, Li et al. 2018) samples `num_trials` configurations
    like `random`, trains each for `grace_period` epochs, and promotes only the best
    1/`reduction_factor` of each rung to `reduction_factor` times as many epochs, up to
    `trainer.max_epochs`; the others stop early.
    """

    method: Literal["grid", "random", "asha"] = Field(
        default="grid",
        validation_alias=AliasChoices("method", "algorithm"),
        description="grid, random or asha (also spelt `algorithm`)",
    )
    parameters: dict[str, ParamSpace]
    max_trials: int = Field(
        default=16,
        ge=1,
        le=10_000,
        validation_alias=AliasChoices("max_trials", "num_trials"),
        description="trials the search runs at most (also spelt `num_trials`)",
    )
    max_concurrent: int = Field(default=4, ge=1)
    seed: int = 0
    metric: str | None = Field(
        default=None, description="asha: the logged key that ranks trials at each rung"
    )
    mode: Literal["min", "max"] | None = Field(
        default=None, description="asha: whether a lower (min) or higher (max) metric is better"
    )
    resource: Literal["epochs"] = Field(
        default="epochs", description="asha: what a rung's budget counts (epochs)"
    )
    grace_period: int = Field(
        default=1,
        json_schema_extra={"minimum": 1},
        description="asha: epochs of the first rung; rung r trains grace_period * "
        "reduction_factor**r epochs, the last rung trainer.max_epochs",
    )
    reduction_factor: int = Field(
        default=3,
        json_schema_extra={"minimum": 2},
        description="asha: each rung promotes its best 1/reduction_factor",
    )

    @model_validator(mode="before")
    @classmethod
    def _one_name_each(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for names in (("algorithm", "method"), ("num_trials", "max_trials")):
                if all(name in data for name in names):
                    raise ValueError(
                        f"{names[0]!r} and {names[1]!r} are two names of one field; give one"
                    )
        return data

    @field_validator("grace_period")
    @classmethod
    def _check_grace_period(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"grace_period must be at least 1 epoch; got {value}")
        return value

    @field_validator("reduction_factor")
    @classmethod
    def _check_reduction_factor(cls, value: int) -> int:
        if value < 2:
            raise ValueError(
                f"reduction_factor must be at least 2 (each rung promotes its best "
                f"1/reduction_factor); got {value}"
            )
        return value

    @model_validator(mode="after")
    def _grid_needs_values(self) -> Self:
        if not self.parameters:
            raise ValueError("a search needs at least one parameter")
        for name, space in self.parameters.items():
            if not re.match(r"^(model|datamodule)\.init_args\.[\w.]+$|^trainer\.\w+$", name):
                raise ValueError(
                    f"search parameter {name!r} must be a path such as 'model.init_args.lr' "
                    "or 'trainer.max_epochs'"
                )
            if self.method == "grid" and space.values is None:
                raise ValueError(f"grid search parameter {name!r} needs a 'values' list")
        if self.method == "asha":
            self._check_asha()
        else:
            given = [f for f in _ASHA_FIELDS if f in self.model_fields_set]
            if given:
                raise ValueError(
                    f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} for algorithm: "
                    f"asha only; remove {'it' if len(given) == 1 else 'them'} from a "
                    f"{self.method} search or set algorithm: asha"
                )
        return self

    def _check_asha(self) -> None:
        if not self.metric:
            raise ValueError(
                "algorithm asha needs 'metric': the logged key that ranks the trials at each "
                "rung, e.g. metric: val_loss"
            )
        if self.mode is None:
            raise ValueError(
                f"algorithm asha needs 'mode': min if a lower {self.metric} is better, max if "
                "a higher one is"
            )
        if self.max_trials < self.reduction_factor:
            raise ValueError(
                f"num_trials ({self.max_trials}) must be at least reduction_factor "
                f"({self.reduction_factor}), or no trial is ever promoted past the first rung"
            )
        for name in ("trainer.max_epochs", "trainer.min_epochs", "trainer.max_steps"):
            if name in self.parameters:
                raise ValueError(
                    f"algorithm asha decides how long each trial trains; remove the search "
                    f"parameter {name!r}"
                )


class ExperimentSpec(_Strict):
    name: str
    project: str
    description: str = ""
    tags: list[str] = Field(default_factory=list, max_length=32)
    model: EntrypointSpec
    datamodule: EntrypointSpec | None = None
    trainer: TrainerArgs = Field(default_factory=TrainerArgs)
    resources: Resources = Field(default_factory=Resources)
    priority: int = Field(default=0, ge=-100, le=100, description="higher runs first")
    max_restarts: int = Field(
        default=2, ge=0, le=20, description="requeues after losing a worker (preemption is free)"
    )
    preemptible: bool = Field(
        default=True,
        description="false: the scheduler never preempts it for another run (admins only)",
    )
    checkpoint: CheckpointPolicy = Field(default_factory=CheckpointPolicy)
    export: ExportPolicy = Field(default_factory=ExportPolicy)
    search: SearchSpec | None = None

    @field_validator("search")
    @classmethod
    def _check_asha_fits(cls, search: SearchSpec | None, info: ValidationInfo) -> SearchSpec | None:
        """ASHA trains each trial to the end of a rung (trainer.max_epochs at the top) and
        resumes a promoted one from its last checkpoint."""
        if search is None or search.method != "asha":
            return search
        trainer, checkpoint = info.data.get("trainer"), info.data.get("checkpoint")
        if isinstance(trainer, TrainerArgs):
            if trainer.max_epochs is None:
                raise ValueError(
                    "algorithm asha needs trainer.max_epochs: the epochs of its last rung, "
                    "which only the best trials reach"
                )
            if search.grace_period >= trainer.max_epochs:
                raise ValueError(
                    f"grace_period ({search.grace_period}) must be less than trainer.max_epochs "
                    f"({trainer.max_epochs}), or there is one rung and nothing stops early"
                )
            if trainer.max_steps is not None:
                raise ValueError(
                    "algorithm asha counts its rungs in epochs; remove trainer.max_steps"
                )
        if isinstance(checkpoint, CheckpointPolicy) and not checkpoint.save_last:
            raise ValueError(
                "algorithm asha resumes a promoted trial from its last checkpoint; set "
                "checkpoint.save_last: true"
            )
        return search

    @field_validator("name", "project")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(
                f"{value!r} must be 1-128 letters, digits, '_', '.' or '-', starting with a "
                "letter or digit"
            )
        return value

    @field_validator("tags")
    @classmethod
    def _check_tags(cls, tags: list[str]) -> list[str]:
        for tag in tags:
            if not tag or len(tag) > 64:
                raise ValueError(f"tag {tag!r} must be 1-64 characters")
        return tags


def parse_spec_text(text: str | bytes, content_type: str | None = None) -> ExperimentSpec:
    """Parse a spec from JSON or YAML text. Raises pydantic's ValidationError for a bad spec
    and ValueError for text that is neither JSON nor YAML or is not a mapping."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    data: Any
    if content_type and "json" in content_type:
        data = json.loads(text)
    else:
        # YAML is a superset of JSON, so one parser accepts both.
        data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError("an experiment spec must be a mapping (a JSON object or YAML mapping)")
    return ExperimentSpec.model_validate(data)
