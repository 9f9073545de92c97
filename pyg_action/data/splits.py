"""Standard train/test splits, decided from each sample's name or ``meta``.

=====================  ==========================================  =================
protocol               train                                       test
=====================  ==========================================  =================
``msr_cross_subject``  subjects 1, 3, 5, 7, 9                      2, 4, 6, 8, 10
``ntu60_xsub``         20 performers (:data:`NTU60_TRAIN_SUBJECTS`)  the other 20
``ntu60_xview``        cameras 2 and 3                             camera 1
``ntu120_xsub``        53 performers (:data:`NTU120_TRAIN_SUBJECTS`)  the other 53
``ntu120_xset``        even setup numbers (2, 4, ..., 32)          odd setups
=====================  ==========================================  =================

Kinetics-skeleton: a video belongs to the split whose label file lists it
(:func:`kinetics_split`). Split names (``train``, ``test`` and its validation synonyms,
``all``) are parsed by :mod:`~pyg_action.data.split_names`. With ``holdout_subjects`` a
cross-subject protocol becomes one fold of cross-validation inside its training subjects
(:func:`split_indices`). A user ``.npz`` may carry a
``split`` key (one ``"train"`` / ``"test"`` / ``"val"`` string per sample,
:func:`npz_split_key`), otherwise :func:`ratio_split` draws a seeded, label-stratified random
split.

Facts are taken from ``meta`` first (the readers fill ``subject``, ``performer``,
``camera``, ``setup``) and from the sample name otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SkeletonDataError
from .split_names import ALL, TEST, TRAIN, requested_split

__all__ = [
    "NTU120_TRAIN_SUBJECTS",
    "NTU60_TRAIN_SUBJECTS",
    "MSR_TRAIN_SUBJECTS",
    "PROTOCOLS",
    "assign_split",
    "kinetics_split",
    "npz_split_key",
    "ratio_split",
    "sample_facts",
    "split_indices",
]

MSR_TRAIN_SUBJECTS = frozenset({1, 3, 5, 7, 9})

#: NTU RGB+D 60 cross-subject training performers (Shahroudy et al., CVPR 2016).
NTU60_TRAIN_SUBJECTS = frozenset(
    {1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38}
)

#: NTU RGB+D 120 cross-subject training performers (Liu et al., TPAMI 2020).
NTU120_TRAIN_SUBJECTS = frozenset(
    {1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38, 45, 46, 47, 49,
     50, 52, 53, 54, 55, 56, 57, 58, 59, 70, 74, 78, 80, 81, 82, 83, 84, 85, 86, 89, 91, 92,
     93, 94, 95, 97, 98, 100, 103}
)  # fmt: skip

NTU60_TRAIN_CAMERAS = frozenset({2, 3})

_NTU_NAME = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})")
_MSR_NAME = re.compile(r"a(\d+)_s(\d+)_e(\d+)", re.IGNORECASE)


def sample_facts(name: str, meta: Mapping[str, Any] | None = None) -> dict[str, int]:
    """``subject``/``camera``/``setup``/``action`` (1-based) from ``meta``, else the name.

    NTU's ``performer`` is also returned as ``subject``.
    """
    facts: dict[str, int] = {}
    match = _NTU_NAME.search(name)
    if match:
        setup, camera, performer, replication, action = (int(g) for g in match.groups())
        facts.update(setup=setup, camera=camera, subject=performer, performer=performer,
                     replication=replication, action=action)  # fmt: skip
    else:
        match = _MSR_NAME.search(name)
        if match:
            action, subject, repetition = (int(g) for g in match.groups())
            facts.update(action=action, subject=subject, repetition=repetition)
    for key in ("subject", "performer", "camera", "setup", "action", "replication", "repetition"):
        if meta and isinstance(meta.get(key), int | np.integer):
            facts[key] = int(meta[key])
    if "performer" in facts and not (meta and isinstance(meta.get("subject"), int)):
        facts["subject"] = facts["performer"]
    return facts


def _need(facts: dict[str, int], key: str, name: str, protocol: str) -> int:
    if key not in facts:
        raise SkeletonDataError(
            f"protocol {protocol!r} needs the {key} of every sample; sample {name!r} has none "
            "(neither in its meta nor in its name)"
        )
    return facts[key]


def _msr(facts: dict[str, int], name: str) -> str:
    return (
        "train"
        if _need(facts, "subject", name, "msr_cross_subject") in MSR_TRAIN_SUBJECTS
        else "test"
    )


def _ntu60_xsub(facts: dict[str, int], name: str) -> str:
    return (
        "train" if _need(facts, "subject", name, "ntu60_xsub") in NTU60_TRAIN_SUBJECTS else "test"
    )


def _ntu60_xview(facts: dict[str, int], name: str) -> str:
    return "train" if _need(facts, "camera", name, "ntu60_xview") in NTU60_TRAIN_CAMERAS else "test"


def _ntu120_xsub(facts: dict[str, int], name: str) -> str:
    return (
        "train" if _need(facts, "subject", name, "ntu120_xsub") in NTU120_TRAIN_SUBJECTS else "test"
    )


def _ntu120_xset(facts: dict[str, int], name: str) -> str:
    return "train" if _need(facts, "setup", name, "ntu120_xset") % 2 == 0 else "test"


#: Protocol name -> rule giving ``"train"`` or ``"test"`` for one sample's facts.
PROTOCOLS: dict[str, Callable[[dict[str, int], str], str]] = {
    "msr_cross_subject": _msr,
    "ntu60_xsub": _ntu60_xsub,
    "ntu60_xview": _ntu60_xview,
    "ntu120_xsub": _ntu120_xsub,
    "ntu120_xset": _ntu120_xset,
}
#: The training subjects of the cross-subject protocols (what ``holdout_subjects`` draws on).
_TRAIN_SUBJECTS: dict[str, frozenset[int]] = {
    "msr_cross_subject": MSR_TRAIN_SUBJECTS,
    "ntu60_xsub": NTU60_TRAIN_SUBJECTS,
    "ntu120_xsub": NTU120_TRAIN_SUBJECTS,
}
_ALIASES = {
    "cross_subject": "msr_cross_subject",
    "xsub": "ntu60_xsub",
    "xview": "ntu60_xview",
    "xsub120": "ntu120_xsub",
    "xset120": "ntu120_xset",
}


def _protocol(name: str) -> Callable[[dict[str, int], str], str]:
    key = _ALIASES.get(name, name)
    if key not in PROTOCOLS:
        raise ValueError(f"unknown split protocol {name!r}; known: {sorted(PROTOCOLS)}")
    return PROTOCOLS[key]


def assign_split(protocol: str, name: str, meta: Mapping[str, Any] | None = None) -> str:
    """``"train"`` or ``"test"`` for one sample under ``protocol``."""
    return _protocol(protocol)(sample_facts(name, meta), name)


def split_indices(
    protocol: str,
    split: str,
    names: Sequence[str],
    metas: Sequence[Mapping[str, Any]] | None = None,
    holdout_subjects: Iterable[int] = (),
) -> list[int]:
    """Indices of the samples in ``split`` (``train``, ``test``/``val`` or ``all``).

    ``holdout_subjects``, training subjects of a cross-subject protocol, turn the split into a
    fold of cross-validation inside the training subjects: ``train`` is the training subjects
    without them, ``test`` their samples, and the protocol's own test subjects take no part
    (``all`` is still every sample). A model trained so has never seen the held-out subjects,
    and its test scores are out-of-fold predictions on them
    (:mod:`pyg_action.engine.distill` learns from such scores).
    """
    split = requested_split(split)
    if split == ALL:
        return list(range(len(names)))
    rule = _protocol(protocol)
    metas = metas if metas is not None else [{}] * len(names)
    holdout = _holdout(protocol, holdout_subjects)
    chosen = []
    for i, (n, m) in enumerate(zip(names, metas, strict=True)):
        facts = sample_facts(n, m)
        part: str | None = rule(facts, n)
        if holdout and part == TRAIN:
            part = TEST if _need(facts, "subject", n, protocol) in holdout else TRAIN
        elif holdout:
            part = None  # the protocol's test subjects: in neither fold
        if part == split:
            chosen.append(i)
    return chosen


def _holdout(protocol: str, subjects: Iterable[int]) -> frozenset[int]:
    """``subjects`` checked to be training subjects of ``protocol`` (a cross-subject one)."""
    held = frozenset(subjects)
    if not held:
        return held
    training = _TRAIN_SUBJECTS.get(_ALIASES.get(protocol, protocol))
    if training is None:
        raise ValueError(
            f"holdout_subjects needs a cross-subject protocol (one of {sorted(_TRAIN_SUBJECTS)}), "
            f"not {protocol!r}"
        )
    strangers = sorted(held - training)
    if strangers:
        raise ValueError(
            f"holdout_subjects {strangers} are not training subjects of {protocol!r} "
            f"({sorted(training)}); only training subjects can be held out"
        )
    if held == training:
        raise ValueError(f"holdout_subjects holds out every training subject of {protocol!r}")
    return held


def kinetics_split(
    names: Sequence[str],
    split: str,
    train_ids: Iterable[str],
    val_ids: Iterable[str],
) -> list[int]:
    """Indices of Kinetics samples whose video id is listed in the split's label file.

    ``train_ids`` / ``val_ids`` are the keys of ``kinetics_train_label.json`` /
    ``kinetics_val_label.json``. A sample in neither file belongs to no split.
    """
    split = requested_split(split)
    if split == ALL:
        return list(range(len(names)))
    wanted = set(train_ids if split == TRAIN else val_ids)
    return [i for i, name in enumerate(names) if _video_id(name) in wanted]


def _video_id(name: str) -> str:
    return name.removesuffix(".json")


def npz_split_key(path: str | Path) -> list[str] | None:
    """The ``split`` strings stored in an ``.npz`` (one per sample), or ``None`` if absent."""
    with np.load(Path(path), allow_pickle=False) as archive:
        if "split" not in archive.files:
            return None
        value = archive["split"]
    if value.dtype.kind != "U":
        raise SkeletonDataError(f"'split' must be a unicode string array, got {value.dtype}", path)
    return [str(v) for v in np.atleast_1d(value)]


def ratio_split(
    count: int,
    split: str,
    test_ratio: float = 0.2,
    seed: int = 0,
    labels: Sequence[int | None] | None = None,
) -> list[int]:
    """A seeded random split of ``count`` samples, stratified by label when labels are given.

    Within each label group the samples are shuffled and ``round(test_ratio * n)`` go to the
    test split (at least one when ``n >= 2`` and ``test_ratio > 0``). Train and test are
    disjoint and together cover every index.
    """
    if not 0 <= test_ratio < 1:
        raise ValueError(f"test_ratio must be in [0, 1), got {test_ratio}")
    split = requested_split(split)
    if split == ALL:
        return list(range(count))
    want_test = split == TEST
    rng = np.random.default_rng(seed)
    groups: dict[Any, list[int]] = {}
    for i in range(count):
        key = None if labels is None else labels[i]
        groups.setdefault(key, []).append(i)
    test: set[int] = set()
    for key in sorted(groups, key=lambda k: (k is None, k if k is not None else 0)):
        members = np.array(groups[key])
        rng.shuffle(members)
        n_test = int(round(test_ratio * len(members)))
        if n_test == 0 and test_ratio > 0 and len(members) >= 2:
            n_test = 1
        test.update(members[:n_test].tolist())
    return [i for i in range(count) if (i in test) == want_test]
