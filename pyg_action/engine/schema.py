"""The schema every training config is checked against before anything loads.

The ``train`` and ``graph`` sections are pydantic models declared here (their defaults are
:data:`~pyg_action.engine.config.DEFAULTS`); the ``model`` and ``data`` sections are built
from what the registries declare: the keyword parameters of a registered model builder (and of
the class it forwards its options to, ``register_model(..., options=...)``) and of a registered
dataset builder, with their type hints and defaults. A new model or dataset so declares its
options in one place, its signature.

Why pydantic (v2): typed models state keys, types and defaults once, for the checks and for the
documentation (:func:`schema_markdown`); its errors carry the exact location of every problem,
which becomes the dotted key a user reads (``train.epochs``); ``extra="forbid"`` rejects
unknown keys; and it is a widely used, well-kept library rather than checks written by hand.

Validation only checks: the config keeps the values as written.
"""

from __future__ import annotations

import difflib
import inspect
import typing
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from ..layouts.partitions import PartitionStrategy

SECTIONS = ("model", "data", "graph", "train")
#: Builder parameters the engine fills itself (not config options).
_ENGINE_ARGUMENTS = {"self", "split", "graph", "num_classes", "in_channels"}


class ConfigError(ValueError):
    """A config that does not match the schema; the message names the source and the key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


class OptimizerSection(_Section):
    """``train.optimizer``."""

    name: Literal["sgd", "adamw"] = "sgd"
    lr: float = Field(default=0.1, gt=0)
    momentum: float = Field(default=0.9, ge=0)
    nesterov: bool = True
    weight_decay: float = Field(default=5e-4, ge=0)


class SchedulerSection(_Section):
    """``train.scheduler``: linear warm-up, then cosine, step or constant."""

    name: Literal["cosine", "step", "constant"] = "cosine"
    warmup_epochs: float = Field(default=2, ge=0)
    milestones: list[int] = Field(default_factory=list)
    gamma: float = Field(default=0.1, gt=0)


class DistillSection(_Section):
    """``train.distill``: soft labels from trained runs (:mod:`pyg_action.engine.distill`)."""

    teachers: list[str] = Field(default_factory=list)
    soft_labels: list[str] = Field(default_factory=list)
    weight: float = Field(default=0.5, gt=0, le=1)
    temperature: float = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _one_source(self) -> DistillSection:
        if bool(self.teachers) == bool(self.soft_labels):
            raise ValueError(
                "give teachers (run folders or checkpoints, predicting on every batch) or "
                "soft_labels (score files of the training samples), one of the two"
            )
        return self


class TrainSection(_Section):
    """``train``: the schedule, optimisation and reproducibility options."""

    epochs: int = Field(default=30, gt=0)
    batch_size: int = Field(default=32, gt=0)
    eval_batch_size: int = Field(default=64, gt=0)
    seed: int = 0
    optimizer: OptimizerSection = OptimizerSection()
    scheduler: SchedulerSection = SchedulerSection()
    label_smoothing: float = Field(default=0.0, ge=0, lt=1)
    mixup: float = Field(default=0.0, ge=0)
    amp: bool | Literal["bf16", "fp16"] = True
    grad_clip: float | None = Field(default=None, gt=0)
    ema_decay: float = Field(default=0.0, ge=0, lt=1)
    sam_rho: float = Field(default=0.0, ge=0)
    swa_from: int | None = Field(default=None, gt=0)
    distill: DistillSection | None = None
    weight_gradient: Literal["onednn", "taps"] = "onednn"
    bucket_by_length: bool = False
    num_workers: int = Field(default=0, ge=0)
    cuda_graphs: bool = False
    device_data: bool = False
    checkpoint_every: int = Field(default=1, gt=0)

    @model_validator(mode="after")
    def _compatible_options(self) -> TrainSection:
        if self.swa_from is not None:
            if self.ema_decay:
                raise ValueError("ema_decay and swa_from both average the weights: set one")
            if self.swa_from > self.epochs:
                raise ValueError(f"swa_from is epoch {self.swa_from} of {self.epochs} epochs")
        if self.distill is not None and self.distill.soft_labels and self.mixup:
            raise ValueError(
                "distill.soft_labels score each sample as it is, not mixup's blends of two: "
                "with mixup, distill from teachers"
            )
        if self.sam_rho and self.cuda_graphs:
            raise ValueError(
                "cuda_graphs records one forward and backward pass per step and sam_rho needs "
                "two: set one of them"
            )
        return self


class GraphSection(_Section):
    """``graph``: the skeleton graph shared by the data and the model."""

    strategy: PartitionStrategy = "spatial"
    max_hop: int = Field(default=1, gt=0)
    dilation: int = Field(default=1, gt=0)
    temporal_window: int = Field(default=9, gt=0)


def _options_model(
    title: str, sources: list[Callable[..., Any]], name_type: Any
) -> type[BaseModel]:
    """A pydantic model of the keyword parameters of ``sources`` plus ``name``."""
    fields: dict[str, Any] = {"name": (name_type, ...)}
    for source in sources:
        target = source.__init__ if inspect.isclass(source) else source  # type: ignore[misc]
        try:
            hints = typing.get_type_hints(target)
        except (NameError, TypeError):  # an annotation that cannot be resolved: any value
            hints = {}
        for param in inspect.signature(target).parameters.values():
            if param.name in _ENGINE_ARGUMENTS or param.kind in (
                param.VAR_KEYWORD,
                param.VAR_POSITIONAL,
            ):
                continue
            default = ... if param.default is param.empty else param.default
            fields.setdefault(param.name, (hints.get(param.name, Any), default))
    return create_model(title, __base__=_Section, **fields)


def model_section(name: str) -> type[BaseModel]:
    """The schema of the ``model`` section of the registered model ``name``."""
    from ..models.registry import model_option_sources

    return _options_model(f"model {name}", model_option_sources(name), Literal[name])


def data_section(name: str) -> type[BaseModel]:
    """The schema of the ``data`` section of the registered dataset ``name``."""
    from ..data.registry import dataset_builder

    return _options_model(f"data {name}", [dataset_builder(name)], Literal[name])


def _registered(kind: str, names: list[str], value: Any) -> str:
    if value in names:
        return str(value)
    close = difflib.get_close_matches(str(value), names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ConfigError(f"{kind}.name: unknown {kind} {value!r}{hint} (registered: {names})")


def config_model(config: Mapping[str, Any]) -> type[BaseModel]:
    """The schema of a whole config, for the model and dataset it names."""
    from ..data.registry import list_datasets
    from ..models.registry import list_models

    sections: dict[str, Any] = {}
    for kind, names, section in (
        ("model", list_models(), model_section),
        ("data", list_datasets(), data_section),
    ):
        part = config.get(kind)
        if isinstance(part, Mapping) and "name" in part:
            sections[kind] = (section(_registered(kind, names, part["name"])), ...)
        else:
            sections[kind] = (dict[str, Any], ...)  # reported as a missing or wrong section
    return create_model(
        "config",
        __base__=_Section,
        graph=(GraphSection, ...),
        train=(TrainSection, ...),
        **sections,
    )


def validate_config(config: Any, source: str = "config") -> None:
    """Check ``config`` against the schema; raise :class:`ConfigError` naming every problem.

    Unknown keys are named with the nearest valid key (``trian.epochs``: did you mean
    ``train.epochs``?), wrong values with their dotted key and what was expected.
    """
    if not isinstance(config, Mapping):
        raise ConfigError(f"{source}: must be a mapping of sections, got {type(config).__name__}")
    try:
        schema = config_model(config)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    try:
        schema.model_validate(dict(config))
    except ValidationError as exc:
        problems = [_describe(error, schema, config) for error in exc.errors()]
        raise ConfigError(f"{source}: " + "; ".join(problems)) from None


def _describe(error: Any, schema: type[BaseModel], config: Mapping[str, Any]) -> str:
    key = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        return _unknown_key(error["loc"], error["input"], schema)
    if error["type"] == "missing":
        return f"{key}: missing"
    if error["type"] == "value_error":  # a check across keys: the section's input is long
        return f"{key}: {error['msg'].removeprefix('Value error, ')}"
    return f"{key}: {error['msg']} (got {error['input']!r})"


def _unknown_key(loc: tuple[Any, ...], value: Any, schema: type[BaseModel]) -> str:
    """``unknown key`` with the nearest valid dotted key, comparing the deepest paths."""
    given = [".".join(str(p) for p in (*loc, *rest)) for rest in _leaf_paths(value)]
    known = list(_schema_paths(schema))
    for path in given:
        close = difflib.get_close_matches(path, known, n=1, cutoff=0.75)
        if close:
            wanted = close[0]
            return f"{path}: unknown key; did you mean {wanted!r}?"
    key = ".".join(str(p) for p in loc)
    siblings = [p for p in known if p.rpartition(".")[0] == key.rpartition(".")[0]]
    return f"{key}: unknown key (valid here: {', '.join(sorted(siblings))})"


def _leaf_paths(value: Any) -> Iterator[tuple[str, ...]]:
    if isinstance(value, Mapping) and value:
        for key, inner in value.items():
            for rest in _leaf_paths(inner):
                yield (str(key), *rest)
    yield ()


def _schema_paths(schema: type[BaseModel], prefix: str = "") -> Iterator[str]:
    for name, field in schema.model_fields.items():
        path = f"{prefix}{name}"
        yield path
        annotation = field.annotation
        if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
            yield from _schema_paths(annotation, f"{path}.")


def _type_name(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) if inspect.isclass(annotation) else None
    text = text or str(annotation).replace("typing.", "").replace("collections.abc.", "")
    return text.replace("pyg_action.layouts.layout.", "").replace("|", "or").replace("  ", " ")


def _default_text(field: Any) -> str:
    if field.default_factory is not None:
        value = field.default_factory()
        return "" if isinstance(value, BaseModel) else repr(value)
    return "required" if field.is_required() else repr(field.default)


def _section_of(annotation: Any) -> type[BaseModel] | None:
    """The section model of a field typed ``Section`` or ``Section | None``, else ``None``."""
    for member in typing.get_args(annotation) or (annotation,):
        if inspect.isclass(member) and issubclass(member, BaseModel):
            return member
    return None


def _rows(schema: type[BaseModel], prefix: str) -> Iterator[str]:
    for name, field in schema.model_fields.items():
        annotation = field.annotation
        section = _section_of(annotation)
        if section is not None:
            if not field.is_required() and field.default is None:  # an optional section
                yield f"| `{prefix}{name}` | `section or None` | `None` |"
            yield from _rows(section, f"{prefix}{name}.")
            continue
        yield f"| `{prefix}{name}` | `{_type_name(annotation)}` | `{_default_text(field)}` |"


def schema_markdown() -> str:
    """The schema as Markdown tables (what docs/configuration.md shows; a test keeps it current)."""
    from ..data.registry import list_datasets
    from ..models.registry import list_models

    lines = ["| key | type | default |", "|---|---|---|"]
    lines += [*_rows(GraphSection, "graph."), *_rows(TrainSection, "train.")]
    for kind, names, section in (
        ("model", list_models(), model_section),
        ("data", list_datasets(), data_section),
    ):
        for name in names:
            lines += ["", f"`{kind}.name: {name}`", "", "| key | type | default |", "|---|---|---|"]
            rows = _rows(section(name), f"{kind}.")
            lines += [row for row in rows if not row.startswith(f"| `{kind}.name`")]
    return "\n".join(lines) + "\n"
