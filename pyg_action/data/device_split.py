"""A skeleton split kept on the training device, batched and augmented there.

For a small data set the GPU finishes a training step long before the host has read, augmented
and collated the next batch (MSR Action3D: ~2 ms of GPU work per ST-GCN step against ~5 ms of
host work per batch). ``train.device_data`` removes the host from the loop: every sample of a
split, after the pipeline's deterministic head (:meth:`~pyg_action.data.transforms.Compose.split`,
computed once on the host as the DataLoader path computes it), is copied once into one padded
tensor on the device, ``(N, C, T_max, V, M)`` plus the frame counts; a batch is then a gather
of its rows, the rest of the pipeline in batched form
(:mod:`~pyg_action.data.batched_transforms`) and a reshape into the node-major layout the
models read, all on the device, with no value read back. An epoch's sample order is copied to
the device once.

The batches are the DataLoader's batches in content: ``x`` ``(N_nodes, C)`` node-major
``(sample, person, frame, joint)``, ``y``, ``num_frames``, ``num_persons``, ``track_shape``
(host-side ``(T, M)`` per sample) and ``sample_id``, without explicit edges (the models derive
every index from the shape). The random numbers are the DataLoader path's: each sample's
numpy generator keyed by (seed, epoch, sample) (:meth:`SkeletonDataset.sample_generator`)
draws on the host the few numbers its steps take (a clip's frame offsets, three angles, three
factors), copied to the device per step; the batched steps turn the same numbers into the same
clips (up to float rounding), so a run with ``train.device_data`` trains as one without it.

Samples of other lengths and person counts are padded to the split's longest and most
populous (a batch keeps each sample's own frames and persons, as the DataLoader's does);
:class:`DeviceSplit` refuses a split whose padded tensor would pass :data:`DEVICE_BYTES`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data

from ..errors import SkeletonDataError
from .batched_transforms import Clips, Draw, batched_steps
from .transforms import Compose

__all__ = ["DEVICE_BYTES", "DeviceSplit"]

#: Most bytes a split's padded tensor may take on the device.
DEVICE_BYTES = 8 << 30


class DeviceSplit:
    """The samples of a :class:`~pyg_action.data.SkeletonDataset` split on ``device``.

    Args:
        dataset: The split (its transform pipeline decides what is computed once on the host
            and what runs per batch on the device).
        device: Where the samples and batches live.
        max_bytes: Refuse a split whose padded ``(N, C, T_max, V, M)`` float32 tensor is larger.
    """

    def __init__(
        self, dataset: Any, device: torch.device | str, max_bytes: int = DEVICE_BYTES
    ) -> None:
        self.device = torch.device(device)
        self.dataset = dataset
        if not isinstance(getattr(dataset, "pipeline", None), Compose):
            raise ValueError(
                f"train.device_data keeps skeleton datasets on the device, not "
                f"{type(dataset).__name__}; set train.device_data=false"
            )
        head, tail = dataset.pipeline.split()
        self.augment = batched_steps(tail.transforms)
        self.description = f"split {dataset.split_name!r} of {dataset.description}"
        arrays = [head(dataset.array(i)) for i in range(len(dataset))]
        names = dataset.names
        channels, _, joints, _ = arrays[0].shape
        for name, array in zip(names, arrays, strict=True):
            if (array.shape[0], array.shape[2]) != (channels, joints):  # a pipeline's bug
                raise SkeletonDataError(
                    f"{self.description}: sample {name!r} has (C, V) = "
                    f"{(array.shape[0], array.shape[2])} after the transforms, the first one "
                    f"{(channels, joints)}"
                )
        self.frames = np.array([array.shape[1] for array in arrays], dtype=np.int64)
        self.persons = np.array([array.shape[3] for array in arrays], dtype=np.int64)
        longest, most = int(self.frames.max()), int(self.persons.max())
        nbytes = len(arrays) * channels * longest * joints * most * 4
        if nbytes > max_bytes:
            raise SkeletonDataError(
                f"{self.description}: train.device_data would keep {nbytes / 2**30:.1f} GiB on "
                f"{self.device} ({len(arrays)} samples padded to {longest} frames and {most} "
                f"persons), more than {max_bytes / 2**30:.1f} GiB; set train.device_data=false "
                "for this data set"
            )
        padded = np.zeros((len(arrays), channels, longest, joints, most), dtype=np.float32)
        for row, array in enumerate(arrays):
            padded[row, :, : array.shape[1], :, : array.shape[3]] = array
        self.samples = torch.from_numpy(padded).to(self.device)
        self.device_frames = torch.from_numpy(self.frames).to(self.device)
        self.device_persons = torch.from_numpy(self.persons).to(self.device)
        self.labels = torch.as_tensor(dataset.labels, dtype=torch.long).to(self.device)
        self.sample_ids = torch.as_tensor(dataset.split, dtype=torch.long).to(self.device)

    def __len__(self) -> int:
        return len(self.frames)

    def batches(self, positions: Sequence[Sequence[int]], epoch: int) -> Iterator[Data]:
        """One batch per list of split positions, in order, augmented with the numbers the
        samples draw in ``epoch`` (:meth:`SkeletonDataset.set_epoch`); the positions are
        copied to the device at once."""
        self.dataset.set_epoch(epoch)
        sizes = [len(p) for p in positions]
        flat = [int(i) for p in positions for i in p]
        order = torch.tensor(flat, dtype=torch.long)
        if self.device.type == "cuda":
            order = order.pin_memory()
        order = order.to(self.device, non_blocking=True)
        start = 0
        for size, rows in zip(sizes, positions, strict=True):
            host_rows = [int(i) for i in rows]
            yield self.batch(order[start : start + size], host_rows, self._draws(host_rows))
            start += size

    def in_order(self, rows: Sequence[int], batch_size: int, epoch: int) -> Iterator[Data]:
        """``rows`` in batches of ``batch_size`` (the last one shorter), in order, as a
        DataLoader over them without shuffling gives them (evaluation)."""
        chunks = [rows[i : i + batch_size] for i in range(0, len(rows), batch_size)]
        return self.batches(chunks, epoch)

    def _draws(self, rows: Sequence[int]) -> Draw:
        """``draw((B, k))``: ``k`` uniform numbers from each sample's own generator, in the
        order its numpy steps would take them, on the device."""
        generators: list[np.random.Generator] = []  # made at the first draw: often none

        def draw(shape: tuple[int, ...]) -> Tensor:
            if not generators:
                split = self.dataset.split
                generators.extend(self.dataset.sample_generator(split[i]) for i in rows)
            values = torch.from_numpy(np.stack([g.random(shape[1:]) for g in generators]))
            if self.device.type == "cuda":
                values = values.pin_memory()
            return values.to(self.device, non_blocking=True)

        return draw

    def batch(self, rows: Tensor, host_rows: Sequence[int], draw: Draw) -> Data:
        """The batch of split positions ``rows`` (on the device; ``host_rows`` the same)."""
        host_frames = tuple(int(self.frames[i]) for i in host_rows)
        persons = tuple(int(self.persons[i]) for i in host_rows)
        padded = self.samples[rows, :, : max(host_frames), :, : max(persons)]
        clips = self.augment(Clips(padded, self.device_frames[rows], host_frames, persons), draw)
        return Data(
            x=self._nodes(clips, persons),
            y=self.labels[rows],
            num_frames=clips.frames,
            num_persons=self.device_persons[rows],
            track_shape=list(zip(clips.host_frames, persons, strict=True)),
            sample_id=self.sample_ids[rows],
        )

    @staticmethod
    def _nodes(clips: Clips, persons: Sequence[int]) -> Tensor:
        """``(N_nodes, C)`` node-major ``(sample, person, frame, joint)``, each sample's own
        frames and persons only."""
        x = clips.x
        batch, channels, longest, joints, most = x.shape
        nodes = x.permute(0, 4, 2, 3, 1)  # (B, M, T, V, C)
        if set(clips.host_frames) == {longest} and set(persons) == {most}:
            return nodes.reshape(-1, channels)
        frame = np.arange(longest)
        keep = np.concatenate(
            [
                ((b * most + np.arange(m)[:, None]) * longest + frame[None, :t]).ravel()
                for b, (t, m) in enumerate(zip(clips.host_frames, persons, strict=True))
            ]
        )
        rows = torch.from_numpy(keep).to(x.device, non_blocking=True)
        return nodes.reshape(-1, joints, channels).index_select(0, rows).reshape(-1, channels)
