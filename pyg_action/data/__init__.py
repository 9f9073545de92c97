"""Datasets, splits, transforms and the prepared-data cache.

Read (:mod:`pyg_action.io`), hold (sources, the cache, the read report), choose (splits),
transform, batch (:class:`SkeletonDataset`); see ``docs/datasets.md``.

* :mod:`~pyg_action.data.sources`: the :class:`~pyg_action.data.sources.SampleSource`
  protocol every dataset reads through (in memory, or a prepared cache)
* :mod:`~pyg_action.data.report`: :class:`~pyg_action.data.report.ReadReport`, what reading
  found (good, bad, unread, left out)
* :mod:`~pyg_action.data.split_names`: the one split vocabulary (train, test = val, all)
* :mod:`~pyg_action.data.transforms`: composable, config-built transforms on ``(C, T, V, M)``
* :mod:`~pyg_action.data.synthetic`: the SYNTHETIC default data set (no download)
* :mod:`~pyg_action.data.prepared`: :func:`prepare` raw files into a memory-mapped cache
* :mod:`~pyg_action.data.datasets`: :class:`SkeletonDataset` and the registered builders
* :mod:`~pyg_action.data.splits`: MSR / NTU / Kinetics / npz train-test splits
* :mod:`~pyg_action.data.containers`: ``pyskl`` pickles and ``stgcn_arrays`` (ST-GCN
  ``*_data.npy`` + ``*_label.pkl``), split by the files' own lists
* :mod:`~pyg_action.data.registry`: :func:`build_dataset` by name (``synthetic``,
  ``msr_action3d``, ``ntu``, ``kinetics``, ``npz``, ``pyskl``, ``stgcn_arrays``, ...) and
  :func:`~pyg_action.data.registry.dataset_options` (the config keys each one takes)
"""

from .datasets import (
    DEFAULT_TRANSFORMS,
    MSR_ACTIONS,
    NTU_ACTIONS,
    SkeletonDataset,
    format_report,
    pick_transforms,
)
from .prepared import (
    CacheWriter,
    PreparedCache,
    cache_nbytes,
    edge_nbytes,
    is_prepared,
    open_prepared,
    prepare,
    read_folder,
    sample_nbytes,
    write_cache,
)
from .registry import DataFacts, DatasetInfo, build_dataset, list_datasets, register_dataset
from .report import ReadReport
from .sources import InMemorySource, SampleSource, open_source
from .splits import (
    NTU60_TRAIN_SUBJECTS,
    NTU120_TRAIN_SUBJECTS,
    assign_split,
    kinetics_split,
    ratio_split,
    split_indices,
)
from .synthetic import SYNTHETIC_CLASSES, generate_sample, make_synthetic
from .transforms import TRANSFORMS, Compose, build_transforms, register_transform

__all__ = [
    "DEFAULT_TRANSFORMS",
    "MSR_ACTIONS",
    "NTU120_TRAIN_SUBJECTS",
    "NTU60_TRAIN_SUBJECTS",
    "NTU_ACTIONS",
    "SYNTHETIC_CLASSES",
    "TRANSFORMS",
    "CacheWriter",
    "Compose",
    "DataFacts",
    "DatasetInfo",
    "InMemorySource",
    "PreparedCache",
    "ReadReport",
    "SampleSource",
    "SkeletonDataset",
    "assign_split",
    "build_dataset",
    "build_transforms",
    "cache_nbytes",
    "edge_nbytes",
    "format_report",
    "generate_sample",
    "is_prepared",
    "kinetics_split",
    "list_datasets",
    "make_synthetic",
    "open_prepared",
    "open_source",
    "pick_transforms",
    "prepare",
    "ratio_split",
    "read_folder",
    "register_dataset",
    "register_transform",
    "sample_nbytes",
    "split_indices",
    "write_cache",
]
