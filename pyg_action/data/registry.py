"""Dataset registry: the ``data`` section of a config names a builder registered here.

A builder takes ``split`` (``"train"`` / ``"test"`` / ...) and keyword options from the
config and returns a :class:`DatasetInfo`. A builder of skeleton data also declares a
``graph`` parameter: the engine passes the config's ``graph`` section to the builders that
declare it, and to no other (:func:`builder_takes`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from torch_geometric.data import Data

from .report import ReadReport


@dataclass(frozen=True)
class DataFacts:
    """What a model is built for, whatever the data (skeletons, images, graphs): what every
    checkpoint records, so a model can be rebuilt without its data.

    Attributes:
        num_classes: Number of classes.
        in_channels: Input feature width (node features, image channels).
        class_names: Human-readable class names (length ``num_classes``).
        layout: Skeleton layout name for skeleton data (sizes the skeleton graph of the
            model), ``None`` otherwise.
    """

    num_classes: int
    in_channels: int
    class_names: tuple[str, ...]
    layout: str | None = None


@dataclass
class DatasetInfo:
    """A split ready for the training engine.

    Attributes:
        dataset: Indexable sequence of :class:`Data` (a PyG ``Dataset`` or a list).
        num_classes: Number of classes.
        in_channels: Node feature width.
        class_names: Human-readable class names (length ``num_classes``).
        layout: Skeleton layout name for skeleton data, ``None`` otherwise.
        synthetic: True for generated data (reported wherever results are shown).
        report: What reading the input found (good and bad samples, what filters left
            out), shown to the user.
    """

    dataset: Sequence[Data] | Any
    num_classes: int
    in_channels: int
    class_names: list[str]
    layout: str | None = None
    synthetic: bool = False
    report: ReadReport = field(default_factory=ReadReport)

    @property
    def facts(self) -> DataFacts:
        """What a model for this data is built for."""
        return DataFacts(self.num_classes, self.in_channels, tuple(self.class_names), self.layout)


DatasetBuilder = Callable[..., DatasetInfo]
_REGISTRY: dict[str, DatasetBuilder] = {}


def register_dataset(name: str) -> Callable[[DatasetBuilder], DatasetBuilder]:
    def add(builder: DatasetBuilder) -> DatasetBuilder:
        if name in _REGISTRY:
            raise ValueError(f"dataset {name!r} is registered twice")
        _REGISTRY[name] = builder
        return builder

    return add


def list_datasets() -> list[str]:
    _import_builtin_datasets()
    return sorted(_REGISTRY)


def dataset_builder(name: str) -> DatasetBuilder:
    """The builder of dataset ``name``; its keyword parameters are the ``data`` options."""
    _import_builtin_datasets()
    if name not in _REGISTRY:
        raise ValueError(f"unknown dataset {name!r}; registered: {sorted(_REGISTRY)}")
    return _REGISTRY[name]


def build_dataset(name: str, split: str, /, **kwargs: Any) -> DatasetInfo:
    _import_builtin_datasets()
    if name not in _REGISTRY:
        raise ValueError(f"unknown dataset {name!r}; registered: {sorted(_REGISTRY)}")
    if "split" in kwargs:
        raise ValueError(
            f"dataset {name!r}: 'split' is not a data option (the engine picks train/test); "
            "a file's own split lists are named with benchmark: (e.g. benchmark: xsub)"
        )
    return _REGISTRY[name](split=split, **kwargs)


def builder_takes(name: str, parameter: str) -> bool:
    """True when dataset ``name``'s builder declares ``parameter`` (e.g. ``graph``)."""
    return parameter in inspect.signature(dataset_builder(name)).parameters


def dataset_options(name: str) -> list[str]:
    """The config keys dataset ``name`` takes (its builder's keyword options)."""
    _import_builtin_datasets()
    if name not in _REGISTRY:
        raise ValueError(f"unknown dataset {name!r}; registered: {sorted(_REGISTRY)}")
    parameters = inspect.signature(_REGISTRY[name]).parameters.values()
    keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [p.name for p in parameters if p.kind in keyword and p.name != "split"]


def _import_builtin_datasets() -> None:
    from . import builtin  # noqa: F401  (registers the shipped datasets)


#: The dataset class (``module.ClassName``) the command line named for this run, if any.
_TRUSTED_DATASET_CLASS: ContextVar[str | None] = ContextVar("trusted_dataset_class", default=None)


@contextmanager
def allow_dataset_class(class_path: str | None) -> Iterator[None]:
    """Let ``pyg_dataset`` import ``class_path`` while the block runs.

    Importing a class by its dotted path runs code, so it happens only for the class the user
    named on the command line of this run (``--dataset-class``), never because a config file
    or a checkpoint's embedded config names one.
    """
    token = _TRUSTED_DATASET_CLASS.set(class_path)
    try:
        yield
    finally:
        _TRUSTED_DATASET_CLASS.reset(token)


def trusted_dataset_class() -> str | None:
    """The dataset class named on the command line (see :func:`allow_dataset_class`)."""
    return _TRUSTED_DATASET_CLASS.get()
