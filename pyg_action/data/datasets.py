"""Skeleton datasets for PyG, and the registered dataset builders.

:class:`SkeletonDataset` is a :class:`torch_geometric.data.Dataset` over a
:class:`~pyg_action.data.sources.SampleSource` (a memory-mapped prepared cache, or
:class:`~pyg_action.sequence.SkeletonSequence` objects in memory), restricted to a split (a
list of indices). ``dataset[i]`` applies the transform pipeline to
the sample's ``(C, T, V, M)`` array and turns it into a graph with a
:class:`~pyg_action.graph.SkeletonGraphBuilder`; :class:`torch_geometric.loader.DataLoader`
batches those graphs.

The builders registered here (``synthetic``, ``msr_action3d``, ``ntu``, ``kinetics``,
``npz``) are what the ``data`` section of a config names; each returns a
:class:`~pyg_action.data.registry.DatasetInfo`. Shared options:

* ``transforms``: a list of steps for every split, or ``{train: [...], test: [...]}``
  (``val`` falls back to ``test``); default: a sensible pipeline per dataset
  (:data:`DEFAULT_TRANSFORMS`).
* ``graph``: :class:`~pyg_action.graph.SkeletonGraphBuilder` options
  (``strategy``, ``max_hop``, ``dilation``, ``temporal_window``).
* ``cache``: a prepared-cache folder; used when it exists, written first (from ``root``)
  when it does not. An existing cache made from another folder than ``root``, or from files
  that changed since, is an error (:mod:`~pyg_action.data.fingerprint`).
* ``strict``: raise when the input had bad samples (default: report them and go on).
* ``seed``: seed of the augmentation random numbers (default: from ``torch.initial_seed()``).

After :meth:`SkeletonDataset.set_epoch` a sample's augmentation depends only on (seed, epoch,
sample): the same in every process, DataLoader worker and resumed run (what the trainer uses).
"""

from __future__ import annotations

import copy
import os
import sys
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch_geometric.data import Data, Dataset

from ..errors import SkeletonDataError
from ..graph import SkeletonGraphBuilder
from ..layouts import LayoutLike, SkeletonLayout, get_layout
from ..sequence import SkeletonSequence
from .fingerprint import check_cache_reader, check_cache_source
from .obtaining import missing_data_error
from .prepared import is_prepared, open_prepared, prepare, read_folder
from .registry import DatasetInfo, register_dataset
from .report import ReadReport
from .sources import InMemorySource, SampleSource, open_source
from .split_names import ALL, TEST, TRAIN, select_stored, split_part
from .splits import kinetics_split, npz_split_key, ratio_split, sample_facts, split_indices
from .synthetic import SYNTHETIC_CLASSES, SYNTHETIC_LAYOUT, make_synthetic, synthetic_split
from .transforms import Compose, build_transforms, check_transform

__all__ = [
    "DEFAULT_TRANSFORMS",
    "MSR_ACTIONS",
    "NTU_ACTIONS",
    "SkeletonDataset",
    "check_transforms_config",
    "format_report",
    "pick_transforms",
]

#: Reports :class:`SkeletonDataset` printed in this process (each is printed once).
_PRINTED_REPORTS: set[str] = set()


def format_report(report: Mapping[str, Any], limit: int | None = 20) -> str:
    """A short human-readable summary of a read/prepare report (see
    :meth:`ReadReport.summary`)."""
    return ReadReport.of(report).summary(limit)


class SkeletonDataset(Dataset):
    """Skeleton samples of one split as PyG graphs.

    Args:
        source: A :class:`~pyg_action.data.sources.SampleSource` (a :class:`PreparedCache`,
            an :class:`~pyg_action.data.sources.InMemorySource`), the path of a cache, or a
            list of sequences.
        split: Indices into ``source`` (default: all samples).
        split_name: Name used in messages (``"train"``, ``"test"``, ...).
        transforms: Transform steps (see :func:`~pyg_action.data.transforms.build_transforms`)
            or a ready :class:`Compose`.
        layout: The skeleton (default: recorded by the cache / the sequences).
        graph: A :class:`SkeletonGraphBuilder` or its keyword options.
        report: Read report of the source (default: the cache's; all good for a list).
        strict: Raise :class:`SkeletonDataError` when the report lists bad samples.
        num_classes: Number of classes (default: largest label + 1); samples of the split
            whose label is outside them are left out and listed in the report as bad.
        seed: Seed of the augmentation generator (default: ``torch.initial_seed()``); each
            DataLoader worker derives its own stream from it and the worker seed, until
            :meth:`set_epoch` keys the draws by sample instead.
        verbose: Print the report to stderr when it lists bad samples or unread files
            (``strict=False``; once per process for one report, however many splits share it).
        description: How messages name the source (default: the source's own).

    Each item is a :class:`Data` from :class:`SkeletonGraphBuilder` plus ``sample_id``
    (the index into ``source``; ``names[i]`` names it).
    """

    def __init__(
        self,
        source: SampleSource | Sequence[SkeletonSequence] | str | Path,
        split: Sequence[int] | None = None,
        *,
        split_name: str = "all",
        transforms: Any = None,
        layout: LayoutLike | None = None,
        graph: SkeletonGraphBuilder | Mapping[str, Any] | None = None,
        report: Mapping[str, Any] | None = None,
        strict: bool = False,
        num_classes: int | None = None,
        seed: int | None = None,
        verbose: bool = True,
        description: str | None = None,
    ) -> None:
        super().__init__(None, log=False)
        self.source = open_source(source)
        self.split_name = split_name
        self.description = description or self.source.description
        self.report = ReadReport.of(report if report is not None else self.source.report)
        self._labels_all = self.source.labels
        total = len(self.source)
        self.split = list(range(total)) if split is None else [int(i) for i in split]
        if num_classes is not None:
            self._drop_labels_outside(num_classes)
        if self.report.bad and strict:
            raise SkeletonDataError(
                f"{self.description} ({split_name}): strict mode and the input had bad samples:\n"
                + self.report.summary()
            )
        if self.report.noteworthy and verbose:
            message = f"[pyg_action] {self.description}: {self.report.summary()}"
            if message not in _PRINTED_REPORTS:  # the other splits of one source say it once
                _PRINTED_REPORTS.add(message)
                print(message, file=sys.stderr)
        if not self.split:
            unread = len(self.report.unread_files)
            hint = (
                f"; its {unread} other file(s) were not read: is the dataset's format right?"
                if unread and not total
                else ""
            )
            raise SkeletonDataError(
                f"split {split_name!r} of {self.description} is empty: no sample belongs to it "
                f"({total} samples in the source{hint}{self.report.left_out()})"
            )
        outside = [i for i in self.split if not 0 <= i < total]
        if outside:
            raise SkeletonDataError(
                f"split {split_name!r} of {self.description}: indices {outside[:5]} outside "
                f"0..{total - 1}"
            )
        self.layout = self._resolve_layout(layout)
        self._set_pipeline(build_transforms(transforms, self.layout))
        if isinstance(graph, SkeletonGraphBuilder):
            self.builder = graph
        else:
            # the models derive every index from the samples' shapes: no edges to collate
            self.builder = SkeletonGraphBuilder(self.layout, **{"edges": False, **(graph or {})})
        labels = self._labels_all[self.split]
        self._num_classes = num_classes if num_classes is not None else int(labels.max()) + 1
        self.seed = seed
        self._rng: np.random.Generator | None = None
        self._rng_owner: tuple[int, int | None] | None = None
        self._epoch_key: tuple[int, int] | None = None

    def _drop_labels_outside(self, num_classes: int) -> None:
        """Take samples whose label is not one of the ``num_classes`` classes (nor -1,
        unknown) out of the split and list them in the report as bad samples."""
        labels, names = self._labels_all, self.source.names
        outside = [
            i for i in self.split if 0 <= i < len(labels) and not -1 <= labels[i] < num_classes
        ]
        if not outside:
            return
        bad = [
            (names[i], f"label {int(labels[i])} is outside the dataset's {num_classes} classes")
            for i in outside
        ]
        self.report = self.report.with_bad(bad)
        dropped = set(outside)
        self.split = [i for i in self.split if i not in dropped]

    def _resolve_layout(self, layout: LayoutLike | None) -> SkeletonLayout:
        """The layout; ``layout_ref`` keeps the name or file it came from (for models)."""
        if layout is not None:
            resolved = get_layout(layout)
            self.layout_ref = str(layout) if isinstance(layout, str | Path) else resolved.name
            return resolved
        resolved = self.source.get_layout()
        self.layout_ref = self.source.layout or resolved.name
        return resolved

    # --------------------------------------------------------------- sample access

    def array(self, position: int) -> np.ndarray:
        """Raw ``(C, T, V, M)`` array of split position ``position`` (before transforms)."""
        return self.source.array(self.split[position])

    def frame_counts(self) -> np.ndarray:
        """Frames of every sample of the split, before transforms (what batching by length
        sorts by)."""
        return np.array([self.array(i).shape[1] for i in range(len(self.split))], dtype=np.int64)

    @property
    def names(self) -> list[str]:
        """Sample names of the split, in order."""
        return [self.source.names[i] for i in self.split]

    @property
    def labels(self) -> np.ndarray:
        """Labels of the split (``-1`` = unknown)."""
        return self._labels_all[self.split]

    @property
    def num_classes(self) -> int:  # type: ignore[override]  # PyG's would iterate every item
        return self._num_classes

    @property
    def in_channels(self) -> int:
        """Node feature width after the transforms."""
        sample = self.pipeline(self.array(0), np.random.default_rng(0))
        return int(sample.shape[0])

    def generator(self) -> np.random.Generator:
        """The augmentation generator of this process / DataLoader worker."""
        info = torch.utils.data.get_worker_info()
        owner = (os.getpid(), None if info is None else info.id)
        if self._rng is None or self._rng_owner != owner:
            base = torch.initial_seed() if self.seed is None else self.seed
            entropy = [base] if info is None else [base, info.seed]
            self._rng = np.random.default_rng(entropy)
            self._rng_owner = owner
        return self._rng

    def with_transforms(self, transforms: Any) -> SkeletonDataset:
        """The same samples, split and graphs under another transform pipeline; nothing is
        read again, and the copy has its own augmentation generator and epoch key."""
        other = copy.copy(self)
        other._set_pipeline(build_transforms(transforms, self.layout))
        other._rng, other._rng_owner, other._epoch_key = None, None, None
        return other

    def set_epoch(self, epoch: int) -> None:
        """Draw sample ``i``'s augmentation from a generator keyed by ``(seed, epoch, i)``.

        Every access of a sample in the epoch then gets the same random numbers, whichever
        process or worker loads it; the seed is ``seed`` or the ``torch.initial_seed()`` of the
        calling process.
        """
        base = torch.initial_seed() if self.seed is None else self.seed
        self._epoch_key = (int(base), int(epoch))

    def sample_generator(self, index: int) -> np.random.Generator:
        """The generator of source sample ``index``'s augmentation: keyed by (seed, epoch,
        ``index``) after :meth:`set_epoch`, else this process's :meth:`generator`."""
        if self._epoch_key is None:
            return self.generator()
        return np.random.default_rng([*self._epoch_key, index])

    def len(self) -> int:
        return len(self.split)

    #: Bytes of kept deterministic-step outputs per dataset (see :meth:`prepared`).
    PREPARED_BYTES: ClassVar[int] = 1 << 30

    def _set_pipeline(self, pipeline: Compose) -> None:
        self.pipeline = pipeline
        self._head, self._tail = pipeline.split()
        self._prepared: dict[int, np.ndarray] = {}
        self._prepared_bytes = 0

    def prepared(self, idx: int) -> np.ndarray:
        """Split position ``idx`` after the pipeline's leading deterministic steps.

        Those steps (normalisation, fixed resampling, streams: :meth:`Compose.split`) give the
        same array every epoch, so it is computed once and kept, read-only, while the kept
        arrays stay under :data:`PREPARED_BYTES`; only the random steps run per access.
        DataLoader workers, which start anew every epoch, use what the main process kept
        (:meth:`prepare_all`) and keep nothing themselves.
        """
        if not len(self._head):
            return self.array(idx)
        kept = self._prepared.get(idx)
        if kept is not None:
            return kept
        x = self._head(self.array(idx))
        # a DataLoader worker lives one epoch: it reads what the parent kept, and keeps nothing
        in_worker = torch.utils.data.get_worker_info() is not None
        if not in_worker and self._prepared_bytes + x.nbytes <= self.PREPARED_BYTES:
            x.setflags(write=False)  # shared by every later access: never changed in place
            self._prepared[idx] = x
            self._prepared_bytes += x.nbytes
        return x

    def prepare_all(self) -> None:
        """Compute :meth:`prepared` for every sample now (within the byte budget): DataLoader
        workers started afterwards inherit the kept arrays instead of each recomputing them.
        Stops at the first sample the budget has no room for (at once when no step is
        deterministic)."""
        for idx in range(len(self.split)):
            self.prepared(idx)
            if idx not in self._prepared:
                break

    def get(self, idx: int) -> Data:
        index = self.split[idx]
        x = self._tail(self.prepared(idx), self.sample_generator(index))
        if not x.flags.writeable:
            x = x.copy()
        label = int(self._labels_all[index])
        data = self.builder(x, None if label < 0 else label)
        data.sample_id = torch.tensor([index])
        return data

    def __repr__(self) -> str:
        return (
            f"SkeletonDataset({self.split_name!r}, {len(self)} of {self.description}, "
            f"layout={self.layout.name!r})"
        )


# ----------------------------------------------------------------------------- builders

#: Action names of MSR Action3D, label order.
MSR_ACTIONS: tuple[str, ...] = (
    "high arm wave", "horizontal arm wave", "hammer", "hand catch", "forward punch",
    "high throw", "draw x", "draw tick", "draw circle", "hand clap", "two hand wave",
    "side-boxing", "bend", "forward kick", "side kick", "jogging", "tennis swing",
    "tennis serve", "golf swing", "pick up & throw",
)  # fmt: skip

#: Action names of NTU RGB+D 120 (the first 60 are NTU RGB+D 60), label order.
NTU_ACTIONS: tuple[str, ...] = (
    "drink water", "eat meal/snack", "brushing teeth", "brushing hair", "drop", "pickup",
    "throw", "sitting down", "standing up (from sitting position)", "clapping", "reading",
    "writing", "tear up paper", "wear jacket", "take off jacket", "wear a shoe",
    "take off a shoe", "wear on glasses", "take off glasses", "put on a hat/cap",
    "take off a hat/cap", "cheer up", "hand waving", "kicking something",
    "reach into pocket", "hopping (one foot jumping)", "jump up",
    "make a phone call/answer phone", "playing with phone/tablet", "typing on a keyboard",
    "pointing to something with finger", "taking a selfie", "check time (from watch)",
    "rub two hands together", "nod head/bow", "shake head", "wipe face", "salute",
    "put the palms together", "cross hands in front (say stop)", "sneeze/cough",
    "staggering", "falling", "touch head (headache)", "touch chest (stomachache/heart pain)",
    "touch back (backache)", "touch neck (neckache)", "nausea or vomiting condition",
    "use a fan (with hand or paper)/feeling warm", "punching/slapping other person",
    "kicking other person", "pushing other person", "pat on back of other person",
    "point finger at the other person", "hugging other person",
    "giving something to other person", "touch other person's pocket", "handshaking",
    "walking towards each other", "walking apart from each other",
    "put on headphone", "take off headphone", "shoot at the basket", "bounce ball",
    "tennis bat swing", "juggling table tennis balls", "hush (quite)", "flick hair",
    "thumb up", "thumb down", "make ok sign", "make victory sign", "staple book",
    "counting money", "cutting nails", "cutting paper (using scissors)", "snapping fingers",
    "open bottle", "sniff (smell)", "squat down", "toss a coin", "fold paper",
    "ball up paper", "play magic cube", "apply cream on face", "apply cream on hand back",
    "put on bag", "take off bag", "put something into a bag", "take something out of a bag",
    "open a box", "move heavy objects", "shake fist", "throw up cap/hat",
    "hands up (both hands)", "cross arms", "arm circles", "arm swings", "running on the spot",
    "butt kicks (kick backward)", "cross toe touch", "side kick", "yawn", "stretch oneself",
    "blow nose", "hit other person with something", "wield knife towards other person",
    "knock over other person (hit with body)", "grab other person's stuff",
    "shoot at other person with a gun", "step on foot", "high-five", "cheers and drink",
    "carry something with other person", "take a photo of other person",
    "follow other person", "whisper in other person's ear", "exchange things with other person",
    "support somebody with hand", "finger-guessing game (playing rock-paper-scissors)",
)  # fmt: skip


def _steps(length: int, *, prenorm: bool, rotate: float = 0.0, extra=()) -> dict[str, list]:
    head = ["pre_normalize"] if prenorm else []
    head += list(extra)
    train = head + [{"name": "uniform_sample", "length": length, "mode": "train"}]
    if rotate:
        train.append({"name": "random_rotate", "angles": [rotate] * 3})
    return {"train": train, "test": head + [{"name": "uniform_sample", "length": length}]}


#: Default transform pipelines per dataset (``{train: [...], test: [...]}``).
DEFAULT_TRANSFORMS: dict[str, dict[str, list]] = {
    "synthetic": _steps(64, prenorm=True, rotate=10.0),
    "msr_action3d": _steps(64, prenorm=True, rotate=10.0),
    "ntu": _steps(100, prenorm=True),
    "kinetics": _steps(
        100,
        prenorm=False,
        extra=[{"name": "centre", "joint": "neck", "per_frame": False, "coords": 2}],
    ),
    "npz": {"train": [], "test": []},
    "pyskl": _steps(100, prenorm=True),
    "stgcn_arrays": _steps(100, prenorm=True),
}


def check_transforms_config(transforms: Any) -> None:
    """Check a config's ``data.transforms`` (a list, or one per split) step by step without
    the data (:func:`~pyg_action.data.transforms.check_transform`)."""
    if transforms is None:
        return
    lists = [transforms]
    if isinstance(transforms, Mapping) and "name" not in transforms:
        pick_transforms(transforms, TRAIN, {})  # checks the split keys
        lists = list(transforms.values())
    for steps in lists:
        for step in [steps] if isinstance(steps, str | Mapping) else steps:
            check_transform(step)


def pick_transforms(transforms: Any, split: str, default: Mapping[str, list]) -> Any:
    """The steps for ``split`` from a per-split mapping, a plain list, or the default."""
    if transforms is None:
        transforms = default
    if isinstance(transforms, Mapping) and "name" not in transforms:
        unknown = set(transforms) - {"train", "test", "val", "all"}
        if unknown:
            raise ValueError(
                f"transforms: unknown split keys {sorted(unknown)}; use train/test/val"
            )
        for key in (split, split_part(split) or TEST, ALL):
            if key in transforms:
                return transforms[key]
        return []
    return transforms


@lru_cache(maxsize=4)
def _read_cached(
    root: str, format: str | None, options: tuple
) -> tuple[tuple[SkeletonSequence, ...], ReadReport]:
    samples, report = read_folder(root, format, **dict(options))
    return tuple(samples), report


def _load_source(
    root: str | Path | None,
    format: str | None,
    cache: str | Path | None,
    what: str,
    *,
    dataset: str,
    **options: Any,
) -> SampleSource:
    """The samples of ``root``: its cache (prepared first if needed), else its files read
    into memory (once per process for the same folder and options)."""
    if cache is not None and is_prepared(cache):
        if root is not None and Path(root).exists():
            check_cache_source(cache, root)  # never a cache of other data
        check_cache_reader(cache, format, options)  # nor of the same files read otherwise
        return open_prepared(cache)
    if root is None or not Path(root).exists():
        raise missing_data_error(what, root)
    if cache is not None:
        prepare(root, cache, format, progress=True, **options)
        return open_prepared(cache)
    key = tuple(sorted((k, v) for k, v in options.items() if v is not None))
    samples, report = _read_cached(str(Path(root).resolve()), format, key)
    return InMemorySource(samples, ReadReport.of(report), f"dataset {dataset!r} ({root})")


def _info(
    source: SampleSource,
    indices: list[int],
    *,
    name: str,
    split: str,
    transforms: Any,
    layout: LayoutLike | None,
    graph: Any,
    report: ReadReport,
    strict: bool,
    class_names: Sequence[str],
    seed: int | None,
    synthetic: bool = False,
) -> DatasetInfo:
    """The split ``indices`` of ``source`` as a :class:`SkeletonDataset` and its facts."""
    steps = pick_transforms(transforms, split, DEFAULT_TRANSFORMS[name])
    dataset = SkeletonDataset(
        source,
        indices,
        split_name=split,
        transforms=steps,
        layout=layout,
        graph=graph,
        report=report,
        strict=strict,
        num_classes=len(class_names),
        seed=seed,
    )
    return DatasetInfo(
        dataset=dataset,
        num_classes=len(class_names),
        in_channels=dataset.in_channels,
        class_names=list(class_names),
        layout=dataset.layout_ref,
        synthetic=synthetic,
        report=report,
    )


@lru_cache(maxsize=2)
def _synthetic_samples(num_samples: int, seed: int, options: tuple) -> tuple[SkeletonSequence, ...]:
    return tuple(make_synthetic(num_samples, seed, **dict(options)))


def _dataset_hint(root: str | Path) -> str:
    """Which ``data.name`` reads ``root``, judged from its name."""
    name = Path(root).name
    if name.endswith((".pkl", ".pickle")):
        return "a pyskl pickle trains with --set data.name=pyskl --set data.benchmark=xsub"
    if name.endswith("_data.npy"):
        return (
            "ST-GCN arrays train with --set data.name=stgcn_arrays (the folder of the train_ "
            "and val_ data/label pairs)"
        )
    return (
        "set data.name to msr_action3d, ntu, kinetics, npz, pyskl (a pyskl .pkl) or "
        "stgcn_arrays (ST-GCN *_data.npy + *_label.pkl) to read data"
    )


@register_dataset("synthetic")
def synthetic_dataset(
    split: str = "train",
    num_samples: int = 1000,
    seed: int = 0,
    *,
    min_frames: int = 40,
    max_frames: int = 120,
    noise: float = 0.015,
    transforms: Any = None,
    graph: Mapping[str, Any] | None = None,
    strict: bool = False,
    augment_seed: int | None = None,
    root: str | Path | None = None,
) -> DatasetInfo:
    """SYNTHETIC actions (the default data set; see :mod:`pyg_action.data.synthetic`).

    ``num_samples`` are generated deterministically from ``seed``; subjects 8-10 are the
    test split, the others train (about 70/30). ``root`` is refused with a clear message.
    """
    if root is not None:
        raise ValueError(
            f"the synthetic dataset is generated and reads no files (got root={str(root)!r}); "
            f"{_dataset_hint(root)}"
        )
    options = (("max_frames", max_frames), ("min_frames", min_frames), ("noise", noise))
    samples = list(_synthetic_samples(num_samples, seed, options))
    indices = synthetic_split(samples, split)
    report = ReadReport(good=len(samples), source="synthetic")
    source = InMemorySource(samples, report, "dataset 'synthetic' (generated in memory)")
    return _info(
        source,
        indices,
        name="synthetic",
        split=split,
        transforms=transforms,
        layout=SYNTHETIC_LAYOUT.name,
        graph=graph,
        report=report,
        strict=strict,
        class_names=SYNTHETIC_CLASSES,
        seed=augment_seed,
        synthetic=True,
    )


@register_dataset("msr_action3d")
def msr_action3d_dataset(
    split: str = "train",
    root: str | Path | None = None,
    protocol: str = "cross_subject",
    *,
    cache: str | Path | None = None,
    transforms: Any = None,
    graph: Mapping[str, Any] | None = None,
    strict: bool = False,
    seed: int | None = None,
    with_confidence: bool = False,
    holdout_subjects: list[int] | None = None,
) -> DatasetInfo:
    """MSR Action3D (20 actions, 10 subjects, ``msr20``), cross-subject protocol.

    ``root`` is relative to the working directory; the 567 raw files are read in about two
    seconds (``a13_s09_e02`` is all zero and is reported as bad). ``with_confidence`` keeps
    the tracker's per-joint confidence as a fourth channel after ``x y z``: the coordinate
    transforms leave it as it is and every stream carries it along (``(3 + 1) S`` channels for
    ``S`` streams). ``holdout_subjects`` (some of 1, 3, 5, 7, 9) trains without those subjects
    and tests on them, never on the protocol's test subjects
    (:func:`~pyg_action.data.splits.split_indices`): the teachers of out-of-fold distillation.
    """
    if protocol not in ("cross_subject", "msr_cross_subject"):
        raise ValueError(f"msr_action3d: unknown protocol {protocol!r}; use cross_subject")
    source = _load_source(
        root,
        "msr",
        cache,
        "MSR Action3D",
        dataset="msr_action3d",
        with_confidence=with_confidence,
    )
    indices = split_indices(
        "msr_cross_subject", split, source.names, source.metas, holdout_subjects or ()
    )
    return _info(
        source,
        indices,
        name="msr_action3d",
        split=split,
        transforms=transforms,
        layout="msr20",
        graph=graph,
        report=source.report,
        strict=strict,
        class_names=MSR_ACTIONS,
        seed=seed,
    )


_NTU_BENCHMARKS = {
    "xsub": ("ntu60_xsub", 60),
    "xview": ("ntu60_xview", 60),
    "xsub120": ("ntu120_xsub", 120),
    "xset120": ("ntu120_xset", 120),
}


@register_dataset("ntu")
def ntu_dataset(
    split: str = "train",
    root: str | Path | None = None,
    benchmark: str = "xsub",
    *,
    cache: str | Path | None = None,
    transforms: Any = None,
    graph: Mapping[str, Any] | None = None,
    strict: bool = False,
    seed: int | None = None,
    drop_missing: bool = True,
    max_bodies: int = 2,
    holdout_subjects: list[int] | None = None,
) -> DatasetInfo:
    """NTU RGB+D 60 / 120 from raw ``.skeleton`` files (or a cache of them).

    ``benchmark``: ``xsub`` / ``xview`` (NTU-60: actions 1-60, setups 1-17), ``xsub120`` /
    ``xset120`` (NTU-120). With ``drop_missing`` the samples the NTU authors list as having
    missing skeletons are left out; they are named in ``report["excluded"]``.
    ``holdout_subjects`` (cross-subject benchmarks: some of their training performers) trains
    without those performers and tests on them
    (:func:`~pyg_action.data.splits.split_indices`).
    """
    if benchmark not in _NTU_BENCHMARKS:
        raise ValueError(f"ntu: unknown benchmark {benchmark!r}; use {sorted(_NTU_BENCHMARKS)}")
    protocol, num_classes = _NTU_BENCHMARKS[benchmark]
    source = _load_source(root, "ntu", cache, "NTU RGB+D", dataset="ntu", max_bodies=max_bodies)
    names, metas = source.names, source.metas
    candidates = set(split_indices(protocol, split, names, metas, holdout_subjects or ()))
    excluded: list[tuple[str, str]] = []
    keep = []
    not_ntu60 = 0
    for i, (name, meta) in enumerate(zip(names, metas, strict=True)):
        if i not in candidates:
            continue
        facts = sample_facts(name, meta)
        action, setup = facts.get("action"), facts.get("setup")
        ntu60 = action is not None and action <= 60 and setup is not None and setup <= 17
        if num_classes == 60 and not ntu60:
            not_ntu60 += 1  # an NTU-120 sample: not part of the NTU-60 benchmarks
            continue
        if drop_missing and meta.get("listed_missing"):
            excluded.append((name, "listed by the NTU authors as having missing skeletons"))
            continue
        keep.append(i)
    filtered = {}
    if not_ntu60:
        reason = f"not NTU-60 (action > 60, setup > 17, or neither known) for {benchmark!r}"
        filtered[reason] = not_ntu60
    report = source.report.with_facts(
        filtered, excluded=[list(entry) for entry in excluded], benchmark=benchmark
    )
    return _info(
        source,
        keep,
        name="ntu",
        split=split,
        transforms=transforms,
        layout="ntu25",
        graph=graph,
        report=report,
        strict=strict,
        class_names=NTU_ACTIONS[:num_classes],
        seed=seed,
    )


@register_dataset("kinetics")
def kinetics_dataset(
    split: str = "train",
    root: str | Path | None = None,
    train_labels: str | Path | None = None,
    val_labels: str | Path | None = None,
    *,
    num_classes: int = 400,
    cache: str | Path | None = None,
    transforms: Any = None,
    graph: Mapping[str, Any] | None = None,
    strict: bool = False,
    seed: int | None = None,
    max_persons: int = 2,
) -> DatasetInfo:
    """Kinetics-skeleton (st-gcn JSON, ``openpose18``, x, y, score); split by label file.

    ``train_labels`` / ``val_labels`` default to ``kinetics_train_label.json`` /
    ``kinetics_val_label.json`` in ``root``. Videos the label files list but the folder
    lacks are counted in ``report["missing_files"]``; samples in neither file are named in
    ``report["unlisted"]``.
    """
    from ..io import read_kinetics_labels

    if root is None:  # the label files are read from it, even with a cache
        raise missing_data_error("Kinetics-skeleton", root)
    root = Path(root)
    train_path = Path(train_labels) if train_labels else root / "kinetics_train_label.json"
    val_path = Path(val_labels) if val_labels else root / "kinetics_val_label.json"
    source = _load_source(
        root, "kinetics", cache, "Kinetics-skeleton", dataset="kinetics", max_persons=max_persons
    )
    listed = {}
    missing: list[str] = []
    class_names = [f"class_{i}" for i in range(num_classes)]
    for key, path in (("train", train_path), ("test", val_path)):
        labels = read_kinetics_labels(path, root)
        listed[key] = set(labels.entries)
        missing.extend(labels.missing)
        for entry in labels.entries.values():
            if 0 <= entry.label_index < num_classes:
                class_names[entry.label_index] = entry.label
    names = source.names
    indices = kinetics_split(names, split, listed["train"], listed["test"])
    unlisted = [n for n in names if n not in listed["train"] and n not in listed["test"]]
    report = source.report.with_facts(missing_files=len(missing), unlisted=unlisted)
    return _info(
        source,
        indices,
        name="kinetics",
        split=split,
        transforms=transforms,
        layout="openpose18",
        graph=graph,
        report=report,
        strict=strict,
        class_names=class_names,
        seed=seed,
    )


@register_dataset("npz")
def npz_dataset(
    split: str = "train",
    path: str | Path | None = None,
    layout: LayoutLike | None = None,
    *,
    test_ratio: float = 0.2,
    split_seed: int = 0,
    class_names: Sequence[str] | None = None,
    cache: str | Path | None = None,
    transforms: Any = None,
    graph: Mapping[str, Any] | None = None,
    strict: bool = False,
    seed: int | None = None,
    root: str | Path | None = None,
) -> DatasetInfo:
    """Samples in the project's ``.npz`` schema (one file or a folder of them).

    ``layout`` is a built-in name or a YAML/JSON layout file (default: stored in the file or
    inferred from the joint count). The split comes from a ``split`` key in the file(s)
    (``"train"`` / ``"test"`` / ``"val"`` per sample, see
    :mod:`~pyg_action.data.split_names`; any other value is an error naming the sample) or,
    without one, from a seeded label-stratified ratio split (``test_ratio``,
    ``split_seed``). ``root`` is an alias of ``path`` (what ``pyg-action train --data``
    sets).
    """
    if root is not None:
        path = root
    if path is None:
        raise ValueError("the npz dataset needs path: a .npz file or a folder of them")
    layout_arg = str(layout) if isinstance(layout, str | Path) else None
    options = {"layout": layout_arg} if layout_arg else {}
    source = _load_source(path, "npz", cache, "npz data", dataset="npz", **options)
    names, metas = source.names, source.metas
    labels = [None if lab < 0 else int(lab) for lab in source.labels]
    keys = _npz_split_keys(metas)
    if keys is not None:
        files = [meta.get("source") for meta in metas]
        indices = select_stored(split, keys, files, names, SkeletonDataError)
    else:
        indices = ratio_split(len(names), split, test_ratio, split_seed, labels)
    if class_names is None:
        stored = next((m.get("class_names") for m in metas if m.get("class_names")), None)
        known = [lab for lab in labels if lab is not None]
        count = max(known) + 1 if known else 1
        class_names = list(stored) if stored else [f"class_{i}" for i in range(count)]
    return _info(
        source,
        indices,
        name="npz",
        split=split,
        transforms=transforms,
        layout=layout,
        graph=graph,
        report=source.report,
        strict=strict,
        class_names=class_names,
        seed=seed,
    )


def _npz_split_keys(metas: Sequence[Mapping[str, Any]]) -> list[str] | None:
    """Per-sample ``split`` strings when every source file has a ``split`` key."""
    per_file: dict[str, list[str] | None] = {}
    out = []
    for meta in metas:
        file = meta.get("source")
        if file is None or "index" not in meta:
            return None
        if file not in per_file:
            try:
                per_file[file] = npz_split_key(file)
            except (OSError, ValueError):
                per_file[file] = None
        keys = per_file[file]
        if keys is None or meta["index"] >= len(keys):
            return None
        out.append(keys[meta["index"]])
    return out
