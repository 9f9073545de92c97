"""Graph classification data for ``--model vig_graph`` (or any model reading ``x``/``batch``).

Datasets:

* ``graph_npz``: graphs stored in one ``.npz`` with offsets (schema below).
* ``pyg_dataset``: any PyG dataset class, by import path (*e.g.*
  ``torch_geometric.datasets.TUDataset`` with ``options: {name: MUTAG}``; downloading is the
  dataset class's business). The class is imported only when the command line names it
  (``--dataset-class``): a config file or a checkpoint naming one is not enough, as importing
  and calling whatever a file names would run its code.
* ``digits_points``: scikit-learn's 8×8 handwritten digits as point clouds (no download):
  every inked pixel is a node with features ``(row / 7, column / 7, ink / 16)``, joined to
  its inked 8-neighbours; graphs have 13 to 50-odd nodes.

``graph_npz`` schema (``G`` graphs, ``N`` nodes and ``E`` edges in all)::

    x           (N, F)    float   node features, graph after graph
    node_ptr    (G + 1,)  int     graph g owns x[node_ptr[g]:node_ptr[g + 1]]
    edge_index  (2, E)    int     source, target; indices local to their graph (0-based)
    edge_ptr    (G + 1,)  int     graph g owns edge_index[:, edge_ptr[g]:edge_ptr[g + 1]]
    y           (G,)      int     class labels
    class_names (K,)      str     optional
    split       (G,)      str     optional, "train" / "test" per graph

Without a ``split`` key (and for ``pyg_dataset`` and ``digits_points``), a seeded
label-stratified split is drawn (:func:`~pyg_action.data.splits.ratio_split`).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch_geometric.data import Data, Dataset

from ..errors import GraphDataError
from .registry import DatasetInfo, register_dataset, trusted_dataset_class
from .report import ReadReport
from .split_names import select_stored
from .splits import ratio_split


def _info(
    graphs: Sequence[Data], num_classes: int, in_channels: int, class_names: list[str] | None
) -> DatasetInfo:
    return DatasetInfo(
        dataset=graphs,
        num_classes=num_classes,
        in_channels=in_channels,
        class_names=class_names or [str(c) for c in range(num_classes)],
        report=ReadReport(good=len(graphs), extra={"graphs": len(graphs)}),
    )


@register_dataset("graph_npz")
def graph_npz(
    split: str = "train",
    path: str | None = None,
    test_ratio: float = 0.2,
    split_seed: int = 0,
    root: str | None = None,
) -> DatasetInfo:
    """Graphs from an ``.npz`` with offsets (see the module doc for the schema).

    Args:
        split: ``"train"``, ``"test"`` (``"val"`` is the test split) or ``"all"``.
        path: The ``.npz`` file.
        test_ratio: Held-out fraction per class when the file has no ``split``.
        split_seed: Seed of that split.
        root: Alias of ``path`` (what ``pyg-action train --data`` sets).
    """
    path = root if root is not None else path
    if path is None:
        raise ValueError("dataset 'graph_npz' needs data.path")
    file = Path(path).expanduser()
    if not file.is_file():
        raise GraphDataError("file not found", file)
    with np.load(file, allow_pickle=False) as archive:
        missing = {"x", "node_ptr", "edge_index", "edge_ptr", "y"} - set(archive.files)
        if missing:
            raise GraphDataError(f"missing arrays {sorted(missing)}", file)
        arrays = {key: archive[key] for key in archive.files}
    x, node_ptr, edge_index = arrays["x"], arrays["node_ptr"], arrays["edge_index"]
    edge_ptr, y = arrays["edge_ptr"], arrays["y"]
    num_graphs = y.shape[0]
    if x.ndim != 2 or edge_index.ndim != 2 or edge_index.shape[0] != 2:
        raise GraphDataError(
            f"need x (N, F) and edge_index (2, E), got {x.shape} and {edge_index.shape}", file
        )
    for name, ptr in (("node_ptr", node_ptr), ("edge_ptr", edge_ptr)):
        if ptr.shape != (num_graphs + 1,) or ptr[0] != 0 or np.any(np.diff(ptr) < 0):
            raise GraphDataError(f"{name} must be (G + 1,) increasing from 0", file)
    if node_ptr[-1] != x.shape[0] or edge_ptr[-1] != edge_index.shape[1]:
        raise GraphDataError("node_ptr / edge_ptr must end at the number of nodes / edges", file)
    if y.dtype.kind not in "iu" or y.min(initial=0) < 0:
        raise GraphDataError("y must be non-negative integers", file)
    if "split" in arrays:
        stored = [str(s) for s in np.atleast_1d(arrays["split"])]
        if len(stored) != num_graphs:
            raise GraphDataError(f"split has {len(stored)} entries for {num_graphs} graphs", file)
        selected = select_stored(split, stored, file, error=GraphDataError)
    else:
        selected = ratio_split(num_graphs, split, test_ratio, split_seed, y.tolist())
    graphs = []
    for g in selected:
        edges = edge_index[:, edge_ptr[g] : edge_ptr[g + 1]]
        num_nodes = int(node_ptr[g + 1] - node_ptr[g])
        if edges.size and (edges.min() < 0 or edges.max() >= num_nodes):
            raise GraphDataError(
                f"edge indices must lie in [0, {num_nodes}) (local to the graph)", file, sample=g
            )
        graphs.append(
            Data(
                x=torch.from_numpy(x[node_ptr[g] : node_ptr[g + 1]]).float(),
                edge_index=torch.from_numpy(edges.astype(np.int64)),
                y=torch.tensor([int(y[g])]),
            )
        )
    names = [str(n) for n in arrays["class_names"]] if "class_names" in arrays else None
    num_classes = max(int(y.max(initial=-1)) + 1, len(names or []))
    return _info(graphs, num_classes, x.shape[1], names)


@register_dataset("pyg_dataset")
def pyg_dataset(
    split: str = "train",
    class_path: str | None = None,
    root: str | None = None,
    options: Mapping[str, Any] | None = None,
    test_ratio: float = 0.2,
    split_seed: int = 0,
) -> DatasetInfo:
    """A PyG graph classification dataset class, split by a seeded stratified ratio.

    Args:
        split: ``"train"``, ``"test"`` (``"val"`` is the test split) or ``"all"``.
        class_path: ``module.ClassName`` of the dataset; it must be the class named on the
            command line (``--dataset-class``, see
            :func:`~pyg_action.data.registry.allow_dataset_class`), which it defaults to.
        root: Passed as ``root=`` when given.
        options: Further constructor arguments (*e.g.* ``{name: MUTAG}``).
        test_ratio: Held-out fraction per class.
        split_seed: Seed of the split.
    """
    cls = dataset_class(class_path)
    kwargs = dict(options or {})
    if root is not None:
        kwargs["root"] = str(Path(root).expanduser())
    dataset = cls(**kwargs)
    labels = [int(data.y.view(-1)[0]) for data in dataset]
    index = ratio_split(len(labels), split, test_ratio, split_seed, labels)
    return _info(
        dataset[torch.tensor(index, dtype=torch.long)],
        int(dataset.num_classes),
        int(dataset.num_features),
        None,
    )


def dataset_class(class_path: str | None) -> type[Dataset]:
    """The PyG dataset class the command line named, after checking ``class_path`` is it.

    Raises:
        ValueError: when the command line named no class, ``class_path`` names another one,
            or the class is not a :class:`torch_geometric.data.Dataset` (checked before
            anything is called).
    """
    trusted = trusted_dataset_class()
    if trusted is None:
        named = (
            f"add --dataset-class {class_path} " if class_path else "name it with --dataset-class "
        )
        raise ValueError(
            f"data.class_path: dataset 'pyg_dataset' imports a class only when the command line "
            f"names it; {named}to this command if you trust that code"
        )
    if class_path is not None and class_path != trusted:
        raise ValueError(
            f"data.class_path is {class_path!r} but --dataset-class names {trusted!r}; "
            "a class is imported only when the command line names it"
        )
    module_name, _, class_name = trusted.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ValueError(f"cannot import dataset class {trusted!r}: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, Dataset)):
        raise ValueError(
            f"--dataset-class {trusted!r} is not a torch_geometric.data.Dataset subclass"
        )
    return cls


@register_dataset("digits_points")
def digits_points(
    split: str = "train",
    test_ratio: float = 0.2,
    split_seed: int = 0,
) -> DatasetInfo:
    """scikit-learn's handwritten digits as point-cloud graphs (see the module doc).

    Args:
        split: ``"train"``, ``"test"`` (``"val"`` is the test split) or ``"all"``.
        test_ratio: Held-out fraction per class.
        split_seed: Seed of the split.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    labels = bunch.target.tolist()
    graphs = [
        digit_point_graph(bunch.images[i], labels[i])
        for i in ratio_split(len(labels), split, test_ratio, split_seed, labels)
    ]
    return _info(graphs, 10, 3, [str(c) for c in bunch.target_names])


def digit_point_graph(image: np.ndarray, label: int) -> Data:
    """One 8×8 digit (ink 0–16) as a graph of its inked pixels and their 8-neighbours."""
    rows, cols = np.nonzero(image > 0)
    x = np.stack([rows / 7.0, cols / 7.0, image[rows, cols] / 16.0], axis=1)
    d_row = rows[:, None] - rows[None, :]
    d_col = cols[:, None] - cols[None, :]
    adjacent = (np.abs(d_row) <= 1) & (np.abs(d_col) <= 1) & ~np.eye(len(rows), dtype=bool)
    source, target = np.nonzero(adjacent)
    return Data(
        x=torch.from_numpy(x).float(),
        edge_index=torch.from_numpy(np.stack([source, target])).long(),
        y=torch.tensor([label]),
    )
