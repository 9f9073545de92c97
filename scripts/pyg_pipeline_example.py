"""Train a small ST-GCN from raw skeleton files with plain PyTorch Geometric and the layers.

No config, no registry and no training engine: the files are read with
``pyg_action.io.read_samples``, turned into graphs by ``SkeletonGraphBuilder``, batched by
PyG's ``DataLoader``, and classified by a model built here from ``PartitionedGraphConv``
(spatial), ``TemporalGraphConv`` (temporal) and ``global_mean_pool``.

Data: MSR Action3D's raw ``*_skeleton3D.txt`` files (``--data FOLDER``, default
``../shared/data/msr_action3d`` when it exists), cross-subject split (odd subjects train);
without them the generated SYNTHETIC actions (subjects 8-10 test).

    python scripts/pyg_pipeline_example.py --epochs 30
    python scripts/pyg_pipeline_example.py --data /path/to/MSRAction3DSkeletonReal3D
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn
from torch_geometric.loader import DataLoader
from torch_geometric.nn import global_mean_pool

from pyg_action.data import make_synthetic
from pyg_action.errors import SkeletonDataError
from pyg_action.graph import SkeletonGraphBuilder
from pyg_action.graph.levels import SkeletonLevel
from pyg_action.io import read_samples
from pyg_action.nn import PartitionedGraphConv, TemporalGraphConv
from pyg_action.sequence import SkeletonSequence

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "msr_action3d"


def load_sequences(folder: Path | None, limit: int | None) -> tuple[list[SkeletonSequence], str]:
    """MSR Action3D files of ``folder`` (one bad file is skipped, not fatal), else SYNTHETIC."""
    if folder is None or not folder.is_dir():
        return make_synthetic(limit or 280, seed=0), "synthetic"
    files = sorted(folder.glob("*_skeleton3D.txt"))
    if limit is not None:  # every action, few repetitions: a quick run that still learns
        files = [f for f in files if f.name.split("_")[2] == "e01"][:limit]
    sequences = []
    for path in files:
        try:
            sequences.extend(read_samples(path).samples)
        except SkeletonDataError as exc:  # e.g. MSR's all-zero a13_s09_e02
            print(f"skipped: {exc}")
    return sequences, "msr_action3d"


def is_test(sequence: SkeletonSequence) -> bool:
    """Cross-subject split: even subjects (MSR) or subjects 8-10 (SYNTHETIC) are held out."""
    subject = int(sequence.meta["subject"])
    return subject >= 8 if sequence.name.startswith("synthetic") else subject % 2 == 0


def normalise(data: np.ndarray, frames: int) -> Tensor:
    """``(C, T, V, M)`` -> ``frames`` evenly spaced frames, centred on the first frame's mean
    joint and scaled to unit spread."""
    picks = np.linspace(0, data.shape[1] - 1, frames).round().astype(int)
    x = data[:3, picks]
    x = x - x[:, :1].mean(axis=2, keepdims=True)
    return torch.from_numpy(np.ascontiguousarray(x / (x.std() + 1e-6), dtype=np.float32))


class Block(nn.Module):
    """Spatial graph conv -> BN -> ReLU -> temporal graph conv (stride) -> BN, residual, ReLU."""

    def __init__(self, c_in: int, c_out: int, num_partitions: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.spatial = PartitionedGraphConv(c_in, c_out, num_partitions)
        self.temporal = TemporalGraphConv(c_out, c_out, kernel_size=9, stride=stride)
        self.norm_spatial = nn.BatchNorm1d(c_out)
        self.norm_temporal = nn.BatchNorm1d(c_out)
        self.residual = nn.Linear(c_in, c_out) if c_in != c_out else nn.Identity()

    def forward(self, x: Tensor, level: SkeletonLevel) -> tuple[Tensor, SkeletonLevel]:
        h = torch.relu(self.norm_spatial(self.spatial(x, blocks=level.block_plan)))
        h = self.norm_temporal(self.temporal.forward_tracks(h, level))  # strided in time
        skip = self.residual(level.select_kept(x, self.stride))  # the nodes the stride keeps
        return torch.relu(h + skip), level.coarsen(self.stride)


class SmallSTGCN(nn.Module):
    """Three blocks (the last one strided), mean pooling per sample, a linear classifier."""

    def __init__(self, builder: SkeletonGraphBuilder, num_classes: int, width: int = 32):
        super().__init__()
        self.graph = builder.graph  # the layout's partitioned graph: one frame's spatial edges
        k = self.graph.num_types
        self.blocks = nn.ModuleList(
            [Block(3, width, k, 1), Block(width, width, k, 1), Block(width, 2 * width, k, 2)]
        )
        self.classifier = nn.Linear(2 * width, num_classes)

    def forward(self, batch) -> Tensor:
        level = SkeletonLevel.from_batch(batch, self.graph.num_joints, self.graph)
        x = batch.x
        for block in self.blocks:
            x, level = block(x, level)
        pooled = global_mean_pool(x, level.node_sample, size=level.shape.num_samples)
        return self.classifier(pooled)


def accuracy(model: nn.Module, loader: DataLoader) -> float:
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for batch in loader:
            correct += int((model(batch).argmax(1) == batch.y).sum())
            total += int(batch.y.numel())
    return correct / total


def train(
    data: Path | None = DEFAULT_DATA,
    epochs: int = 30,
    frames: int = 32,
    limit: int | None = None,
    seed: int = 0,
) -> dict[str, float | str]:
    """Train and return the final train/test accuracy and which data was used."""
    torch.manual_seed(seed)
    sequences, name = load_sequences(data, limit)
    layout = sequences[0].layout
    num_classes = max(s.label for s in sequences) + 1
    builder = SkeletonGraphBuilder(layout, strategy="spatial", edges=False)  # shape-only graphs
    graphs = {"train": [], "test": []}
    for s in sequences:
        split = "test" if is_test(s) else "train"
        graphs[split].append(builder(normalise(s.data, frames), s.label))
    # drop_last: every training batch holds several samples (BatchNorm needs more than one)
    train_loader = DataLoader(graphs["train"], batch_size=16, shuffle=True, drop_last=True)
    loaders = {split: DataLoader(graphs[split], batch_size=64) for split in graphs}
    model = SmallSTGCN(builder, num_classes)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    for epoch in range(epochs):
        model.train()
        for batch in train_loader:
            loss = nn.functional.cross_entropy(model(batch), batch.y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        print(f"epoch {epoch + 1}/{epochs}  loss {float(loss):.3f}")
    result = {
        "data": name,
        "train_accuracy": accuracy(model, loaders["train"]),
        "test_accuracy": accuracy(model, loaders["test"]),
    }
    print(
        f"{name}: {len(graphs['train'])} train / {len(graphs['test'])} test sequences, "
        f"train {result['train_accuracy']:.1%}, test {result['test_accuracy']:.1%}"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="MSR Action3D folder")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--limit", type=int, default=None, help="read at most N files")
    args = parser.parse_args()
    train(args.data, args.epochs, args.frames, args.limit)


if __name__ == "__main__":
    main()
