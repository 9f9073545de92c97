"""Datasets of the containers people already hold: pyskl annotation pickles, ST-GCN arrays.

``pyskl`` (``ntu60_3danno.pkl``, ``ntu120_3danno.pkl``, ...): one pickle holds every
sample and the file's own split lists, ``{"split": {"xsub_train": [names], "xsub_val":
[...], ...}, "annotations": [...]}``. ``benchmark: xsub`` trains on ``xsub_train`` and tests
on ``xsub_val`` (``train_split`` / ``test_split`` name the lists directly).

``stgcn_arrays`` (what ST-GCN / 2s-AGCN ``*_gendata.py`` write): one ``<split>_data.npy``
``(N, C, T, V, M)`` and ``<split>_label.pkl`` pair per split. ``root`` is the folder of
the official ``train_*`` and ``val_*`` pairs; ``train`` / ``test`` give the files
explicitly (a ``*_data.npy`` path, its ``*_label.pkl`` found beside it, or
``{data: ..., label: ...}``).

Both read through :mod:`pyg_action.io` (restricted unpickler, ``allow_pickle=False``) and
report what they leave out: bad samples, and for pyskl the samples in neither split list
and the listed names with no annotation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import SkeletonDataError
from ..io import read_stgcn_labels
from ..io.safe_pickle import safe_load_pickle
from ..layouts import LayoutLike
from .datasets import (
    DEFAULT_TRANSFORMS,
    MSR_ACTIONS,
    NTU_ACTIONS,
    _info,
    _load_source,
    pick_transforms,
)
from .registry import DatasetInfo, register_dataset
from .sources import SampleSource
from .split_names import ALL, TRAIN, requested_split

__all__ = ["CLASS_NAME_SETS", "pyskl_dataset", "pyskl_split_lists", "stgcn_arrays_dataset"]

#: Named class lists a config may give as ``class_names`` (e.g. ``class_names: ntu60``).
CLASS_NAME_SETS: dict[str, tuple[str, ...]] = {
    "ntu60": NTU_ACTIONS[:60],
    "ntu120": NTU_ACTIONS,
    "msr": MSR_ACTIONS,
}


def _default_steps(layout: str | None) -> dict[str, list]:
    """NTU's pipeline for ``ntu25`` skeletons; a plain resampling for other layouts."""
    if layout in (None, "ntu25"):
        return DEFAULT_TRANSFORMS["ntu"]
    return {
        "train": [{"name": "uniform_sample", "length": 100, "mode": "train"}],
        "test": [{"name": "uniform_sample", "length": 100}],
    }


def _class_names(
    class_names: str | Sequence[str] | None, labels: Sequence[int], what: str
) -> list[str]:
    """The class list: a named set, an explicit list, or ``class_<i>`` up to the top label."""
    top = max(labels, default=-1)
    if isinstance(class_names, str):
        if class_names not in CLASS_NAME_SETS:
            raise ValueError(
                f"{what}: unknown class_names {class_names!r}; use a list or one of "
                f"{sorted(CLASS_NAME_SETS)}"
            )
        names = list(CLASS_NAME_SETS[class_names])
    elif class_names is not None:
        names = [str(name) for name in class_names]
    else:
        names = [f"class_{i}" for i in range(top + 1)]
    if top >= len(names):
        raise SkeletonDataError(f"{what}: label {top} but only {len(names)} class names")
    return names


def _resolved_layout(layout: LayoutLike | None) -> str | None:
    return str(layout) if isinstance(layout, str | Path) else None


@lru_cache(maxsize=2)
def _split_lists_cached(path: str, mtime_ns: int) -> dict[str, frozenset[str]]:
    content = safe_load_pickle(path)
    splits = content.get("split") if isinstance(content, dict) else None
    if not isinstance(splits, dict):
        raise SkeletonDataError(
            "this pyskl pickle has no 'split' dict; name the samples of each split in it "
            "(or convert the file to .npz with a split key)",
            Path(path),
        )
    out = {}
    for key, members in splits.items():
        if isinstance(members, list | tuple | set | frozenset):
            out[str(key)] = frozenset(name for name in members if isinstance(name, str))
    return out


def pyskl_split_lists(path: str | Path) -> dict[str, frozenset[str]]:
    """The ``split`` lists of a pyskl pickle (list name -> sample names)."""
    resolved = Path(path).resolve()
    if not resolved.is_file():
        raise SkeletonDataError("pyskl pickle not found", resolved)
    return _split_lists_cached(str(resolved), resolved.stat().st_mtime_ns)


def _list_name(
    split: str, base: str | None, train_split: str | None, test_split: str | None
) -> str | None:
    """The file's split list that holds ``split`` (``None``: none named)."""
    if _train_or_test(split) == TRAIN:
        return train_split or (f"{base}_train" if base else None)
    return test_split or (f"{base}_val" if base else None)


def _train_or_test(split: str) -> str:
    """``train`` or ``test``: these datasets' files hold no ``all`` split."""
    part = requested_split(split)
    if part == ALL:
        raise ValueError(f"split {split!r}: the file's own lists hold train and test only")
    return part


@register_dataset("pyskl")
def pyskl_dataset(
    split: str = "train",
    path: str | Path | None = None,
    benchmark: str | None = None,
    *,
    train_split: str | None = None,
    test_split: str | None = None,
    layout: LayoutLike | None = None,
    class_names: str | Sequence[str] | None = None,
    cache: str | Path | None = None,
    transforms: Any = None,
    graph: Mapping[str, Any] | None = None,
    strict: bool = False,
    seed: int | None = None,
    root: str | Path | None = None,
) -> DatasetInfo:
    """A pyskl annotation pickle, split by its own lists.

    ``benchmark`` (e.g. ``xsub``) picks ``<benchmark>_train`` for
    training and ``<benchmark>_val`` for testing; ``train_split`` / ``test_split`` name
    other lists. ``root`` is an alias of ``path`` (what ``train --data`` sets).
    """
    path = root if root is not None else path
    if path is None:
        raise ValueError("the pyskl dataset needs path: the annotation pickle")
    list_name = _list_name(split, benchmark, train_split, test_split)
    lists = pyskl_split_lists(path)
    if list_name is None:
        raise ValueError(
            f"pyskl: name the split lists with split (e.g. xsub) or train_split/test_split; "
            f"the file has {sorted(lists)}"
        )
    if list_name not in lists:
        raise SkeletonDataError(f"no split list {list_name!r} (lists: {sorted(lists)})", path)
    options = {"layout": _resolved_layout(layout)} if layout is not None else {}
    source = _load_source(path, "pyskl", cache, "pyskl pickle", dataset="pyskl", **options)
    names = source.names
    members = lists[list_name]
    indices = [i for i, name in enumerate(names) if name in members]
    listed = frozenset().union(*lists.values())
    unlisted = sum(1 for name in names if name not in listed)
    filtered = {}
    if unlisted:
        filtered["in no split list of the file"] = unlisted
    missing = len(members - set(names))
    if missing:
        filtered[f"named in {list_name!r} but not read (no annotation or a bad one)"] = missing
    report = source.report.with_facts(filtered, split_list=list_name)
    steps = pick_transforms(transforms, split, _default_steps(_layout_of(source, layout)))
    return _info(
        source,
        indices,
        name="pyskl",
        split=split,
        transforms=steps,
        layout=layout,
        graph=graph,
        report=report,
        strict=strict,
        class_names=_class_names(class_names, source.labels.tolist(), f"pyskl {path}"),
        seed=seed,
    )


def _layout_of(source: SampleSource, layout: LayoutLike | None) -> str | None:
    """The layout name the samples follow: the one given, else the source's."""
    return _resolved_layout(layout) if layout is not None else source.layout


def _array_pair(entry: Any, what: str) -> tuple[Path, Path]:
    """``(data.npy, label.pkl)`` from a path or a ``{data, label}`` mapping."""
    if isinstance(entry, Mapping):
        unknown = set(entry) - {"data", "label"}
        if unknown or "data" not in entry:
            raise ValueError(f"stgcn_arrays: {what} takes data: and label:, got {sorted(entry)}")
        data = Path(entry["data"])
        label = Path(entry["label"]) if entry.get("label") else None
    else:
        data, label = Path(entry), None
    if label is None:
        if not data.stem.endswith("data"):
            raise ValueError(
                f"stgcn_arrays: {what}: give label: for {data} (only *_data.npy finds its "
                "*_label.pkl)"
            )
        label = data.with_name(data.stem[: -len("data")] + "label.pkl")
    for file in (data, label):
        if not file.is_file():
            raise SkeletonDataError(f"stgcn_arrays: {what} file not found", file)
    return data, label


def _pair_in_folder(root: Path, split: str) -> tuple[Path, Path]:
    """The official pair of ``split`` in ``root``: ``train_*`` or ``val_*`` (else ``test_*``)."""
    prefixes = ("train",) if split == TRAIN else ("val", "test")
    for prefix in prefixes:
        data = root / f"{prefix}_data.npy"
        if data.is_file():
            return _array_pair(data, split)
    wanted = " or ".join(f"{p}_data.npy" for p in prefixes)
    raise SkeletonDataError(f"stgcn_arrays: no {wanted} in the folder", root)


@register_dataset("stgcn_arrays")
def stgcn_arrays_dataset(
    split: str = "train",
    root: str | Path | None = None,
    train: str | Path | Mapping[str, Any] | None = None,
    test: str | Path | Mapping[str, Any] | None = None,
    *,
    layout: LayoutLike | None = None,
    class_names: str | Sequence[str] | None = None,
    cache: str | Path | None = None,
    transforms: Any = None,
    graph: Mapping[str, Any] | None = None,
    strict: bool = False,
    seed: int | None = None,
) -> DatasetInfo:
    """ST-GCN ``*_data.npy`` + ``*_label.pkl`` pairs, one per split.

    ``root``: the folder of ``train_data.npy`` / ``train_label.pkl`` and ``val_data.npy`` /
    ``val_label.pkl`` (or one of its files); ``train`` / ``test`` override a pair (a
    ``*_data.npy`` path or ``{data, label}``). ``val`` reads the test pair. ``cache``: a
    folder holding one prepared cache per split (``<cache>/train``, ``<cache>/test``).
    Class names: a list or a named set (``ntu60``, ``ntu120``); default ``class_<i>`` up to
    the highest label of both label files.
    """
    part = _train_or_test(split)
    if root is not None and Path(root).is_file():  # e.g. --data .../train_data.npy
        root = Path(root).parent
    pairs = {}
    for key, entry in (("train", train), ("test", test)):
        if entry is not None:
            pairs[key] = _array_pair(entry, key)
        elif root is not None:
            pairs[key] = _pair_in_folder(Path(root), key)
        else:
            raise ValueError(
                f"stgcn_arrays needs root (the folder of train_/val_ data and label files) or "
                f"{key}: {{data: ..., label: ...}}"
            )
    data_path, label_path = pairs[part]
    options: dict[str, Any] = {"label_path": str(label_path)}
    if layout is not None:
        options["layout"] = _resolved_layout(layout)
    split_cache = Path(cache) / part if cache is not None else None
    source = _load_source(
        data_path, "stgcn", split_cache, "ST-GCN arrays", dataset="stgcn_arrays", **options
    )
    all_labels = [label for _, (_, labels) in _label_files(pairs) for label in labels]
    steps = pick_transforms(transforms, split, _default_steps(_layout_of(source, layout)))
    return _info(
        source,
        list(range(len(source))),
        name="stgcn_arrays",
        split=split,
        transforms=steps,
        layout=layout,
        graph=graph,
        report=source.report,
        strict=strict,
        class_names=_class_names(class_names, all_labels, f"stgcn_arrays {data_path}"),
        seed=seed,
    )


def _label_files(
    pairs: Mapping[str, tuple[Path, Path]],
) -> list[tuple[str, tuple[list[str], list[int]]]]:
    return [(key, read_stgcn_labels(label)) for key, (_, label) in pairs.items()]
