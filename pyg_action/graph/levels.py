"""The structure of a batch of skeleton tracks, known on the host, and its indices on the device.

A batch of skeleton samples is ``R`` *tracks* (one person of one sample each) of ``T_r``
frames of ``V`` joints, laid out node-major ``(track, frame, joint)``, joint fastest. Its
:class:`TrackShape` (the per-track frame counts and per-sample person counts, as Python ints)
is all the layers need to know: every index they use — the node's sample, the frames a
temporal stride keeps, where each track sits in a gap-separated sequence, the temporal edges,
one frame's spatial adjacency — follows from it by closed-form arithmetic. Building those
indices needs no value read back from the device, so no host synchronisation and no
value-dependent output shape anywhere in a model's forward or backward.

:class:`SkeletonLevel` is one temporal resolution of such a batch; :meth:`SkeletonLevel.coarsen`
gives the next one after a stride (frames ``0, s, 2s, ...`` of every track). Levels are cached
by shape signature (:func:`SkeletonLevel.structured`), so batches of one shape share their
indices and each index is built once.

A batch carries its shape on the host when its samples were made by
:class:`~pyg_action.graph.SkeletonGraphBuilder` (the ``track_shape`` attribute, a list with one
``(T, M)`` pair per sample after PyG's batching). Other batches (a user's own PyG graphs with
``num_frames`` and ``num_persons``) cost one read of those two small tensors per forward.
Batches that carry explicit spatial edges whose labels vary per frame (the gravity-centre
partitions) keep them: their spatial convolution runs on the edges (message passing),
everything temporal still from the shape.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch
from torch import Tensor

from ..layouts.partitions import LayoutGraph
from .blocks import BlockPlan
from .temporal import temporal_edges

T = TypeVar("T")


@dataclass(frozen=True)
class TrackShape:
    """Host-side shape of a batch of tracks.

    Attributes:
        lengths: Frames of every track, in node order.
        persons: Tracks of every sample (its person count), in order; they sum to ``R``.
        num_joints: ``V``.
    """

    lengths: tuple[int, ...]
    persons: tuple[int, ...]
    num_joints: int

    def __post_init__(self) -> None:
        if sum(self.persons) != len(self.lengths):
            raise ValueError(
                f"{len(self.lengths)} tracks but the samples' person counts sum to "
                f"{sum(self.persons)}"
            )
        if any(t < 1 for t in self.lengths):
            raise ValueError(f"every track needs at least one frame, got lengths {self.lengths}")

    @classmethod
    def of_samples(
        cls, frames: Sequence[int], persons: Sequence[int], num_joints: int
    ) -> TrackShape:
        """The shape of samples of ``frames[b]`` frames and ``persons[b]`` persons each."""
        lengths = tuple(int(t) for t, m in zip(frames, persons, strict=True) for _ in range(m))
        return cls(lengths, tuple(int(m) for m in persons), num_joints)

    @property
    def num_samples(self) -> int:
        return len(self.persons)

    @property
    def num_tracks(self) -> int:
        return len(self.lengths)

    @property
    def num_frames(self) -> int:
        """``F``: frames of all tracks together (one spatial block of ``V`` nodes each)."""
        return sum(self.lengths)

    @property
    def num_nodes(self) -> int:
        return self.num_frames * self.num_joints

    @property
    def equal_lengths(self) -> bool:
        """Whether every track has the same length (the batch is then a dense tensor)."""
        return len(set(self.lengths)) <= 1

    def strided(self, stride: int) -> TrackShape:
        """The shape after a temporal stride: ``ceil(T / s)`` frames per track."""
        lengths = tuple(-(-t // stride) for t in self.lengths)
        return TrackShape(lengths, self.persons, self.num_joints)


def track_shape_of(batch: Any, num_joints: int) -> TrackShape:
    """The :class:`TrackShape` of a batch: from its host-side ``track_shape`` when it has one,
    else from ``num_frames`` and ``num_persons`` (one read of each from the device)."""
    pairs = getattr(batch, "track_shape", None)
    if pairs is not None:
        if len(pairs) and isinstance(pairs[0], int):
            pairs = [pairs]  # a single sample's (T, M)
        frames, persons = zip(*pairs, strict=True) if len(pairs) else ((), ())
        return TrackShape.of_samples(frames, persons, num_joints)
    frames = batch.num_frames.view(-1).tolist()
    persons = batch.num_persons.view(-1).tolist()
    return TrackShape.of_samples(frames, persons, num_joints)


def _memoised(method: Callable[[SkeletonLevel], T]) -> T:
    """A property computed once per level (a plain dict, so that ``torch.compile`` traces
    it: ``functools.cached_property`` takes a lock, which breaks the graph)."""
    name = method.__name__

    def get(self: SkeletonLevel) -> T:
        if name not in self._memo:
            self._memo[name] = method(self)
        return self._memo[name]

    get.__doc__ = method.__doc__
    return property(get)  # type: ignore[return-value]


def _per_frame_partitions(batch: Any) -> bool:
    """Whether the batch's spatial edge labels differ between frames (its samples were built
    with ``center="gravity"``)."""
    kinds = getattr(batch, "partitions", None)
    return kinds is not None and "gravity" in ([kinds] if isinstance(kinds, str) else kinds)


def _arange_repeated(counts: Sequence[int], device: torch.device) -> Tensor:
    """``[0]*counts[0] + [1]*counts[1] + ...`` on the device, its size known on the host."""
    repeats = torch.tensor(counts, dtype=torch.long, device=device)
    index = torch.arange(len(counts), device=device)
    return torch.repeat_interleave(index, repeats, output_size=sum(counts))


def _offsets(counts: Sequence[int]) -> list[int]:
    """Exclusive running sum of ``counts`` (host)."""
    out, total = [], 0
    for c in counts:
        out.append(total)
        total += c
    return out


@dataclass(frozen=True)
class SpatialEdges:
    """Explicit spatial edges of a batch (see :mod:`pyg_action.graph.skeleton_graph`)."""

    edge_index: Tensor
    edge_type: Tensor
    edge_weight: Tensor
    edge_slot: Tensor

    def as_kwargs(self) -> dict[str, Tensor]:
        """Keyword arguments for :class:`~pyg_action.nn.PartitionedGraphConv`."""
        return {
            "edge_index": self.edge_index,
            "edge_type": self.edge_type,
            "edge_weight": self.edge_weight,
            "edge_slot": self.edge_slot,
        }


@dataclass(eq=False)
class SkeletonLevel:
    """One temporal resolution of a batch of skeleton tracks.

    Attributes:
        shape: The host-side :class:`TrackShape`.
        device: Where its indices live.
        graph: The layout's partitioned graph, from which one frame's spatial edges come
            (``None`` for models without a spatial graph convolution).
        edges: Explicit spatial edges of the batch when they differ between frames (they are
            coarsened with the level); ``None`` when every frame has the layout's edges.
    """

    shape: TrackShape
    device: torch.device
    graph: LayoutGraph | None = None
    edges: SpatialEdges | None = None
    _coarse: dict[int, SkeletonLevel] = field(default_factory=dict, repr=False)
    _temporal: dict[tuple[int, int, int], tuple[Tensor, Tensor]] = field(
        default_factory=dict, repr=False
    )
    _positions: dict[tuple[int, int], tuple[Tensor, Tensor, int]] = field(
        default_factory=dict, repr=False
    )
    _memo: dict[str, Any] = field(default_factory=dict, repr=False)

    #: Shape-signature cache of structured levels (see :meth:`structured`).
    _CACHE: ClassVar[OrderedDict[tuple[Any, ...], SkeletonLevel]] = OrderedDict()
    CACHE_SIZE: ClassVar[int] = 64

    @classmethod
    def structured(
        cls, shape: TrackShape, device: torch.device | str, graph: LayoutGraph | None = None
    ) -> SkeletonLevel:
        """The level of ``shape`` on ``device`` whose frames all have ``graph``'s edges, shared
        by every batch of that shape (the :data:`CACHE_SIZE` most recent shapes are kept)."""
        device = torch.device(device)
        key = (shape, str(device), None if graph is None else id(graph))
        level = cls._CACHE.get(key)
        if level is None or level.graph is not graph:
            level = cls(shape, device, graph)
            cls._CACHE[key] = level
            while len(cls._CACHE) > cls.CACHE_SIZE:
                cls._CACHE.popitem(last=False)
        else:
            cls._CACHE.move_to_end(key)
        return level

    @classmethod
    def from_batch(
        cls,
        batch: Any,
        num_joints: int,
        graph: LayoutGraph | None = None,
        spatial: bool = True,
    ) -> SkeletonLevel:
        """Level 0 of a skeleton batch.

        Spatial edges that come with the batch are used as given when their labels differ
        between frames (gravity-centre partitions: ``batch.partitions`` is ``"gravity"``) or
        when no ``graph`` is passed; otherwise the structured level of the batch's shape is
        returned, whose spatial edges are ``graph``'s in every frame. ``spatial=False`` (a
        model without a spatial graph convolution) never reads the batch's edges.
        """
        shape = track_shape_of(batch, num_joints)
        num_nodes = batch.x.shape[0]
        if shape.num_nodes != num_nodes:
            raise ValueError(
                f"batch has {num_nodes} nodes but its frames and persons with {num_joints} "
                f"joints give {shape.num_nodes}: does the layout match the data?"
            )
        device = batch.x.device
        has_edges = spatial and getattr(batch, "spatial_edge_index", None) is not None
        if has_edges and (graph is None or _per_frame_partitions(batch)):
            edges = SpatialEdges(
                batch.spatial_edge_index,
                batch.spatial_edge_type,
                batch.spatial_edge_weight,
                batch.spatial_edge_id,
            )
            return cls(shape, device, graph, edges)
        return cls.structured(shape, device, graph)

    # -- sizes -------------------------------------------------------------------------------

    @property
    def num_joints(self) -> int:
        return self.shape.num_joints

    @property
    def num_nodes(self) -> int:
        return self.shape.num_nodes

    # -- indices (built once per level, on the device) ----------------------------------------

    @_memoised
    def lengths(self) -> Tensor:
        """``(R,)`` frames per track (long)."""
        return torch.tensor(self.shape.lengths, dtype=torch.long, device=self.device)

    def _nodes_per_sample(self) -> list[int]:
        nodes, track = [], 0
        for persons in self.shape.persons:
            nodes.append(sum(self.shape.lengths[track : track + persons]) * self.num_joints)
            track += persons
        return nodes

    @_memoised
    def node_sample(self) -> Tensor:
        """``(N,)`` the sample of every node."""
        return _arange_repeated(self._nodes_per_sample(), self.device)

    @_memoised
    def sample_nodes(self) -> Tensor:
        """``(B, 1)`` nodes of every sample (float), the divisor of a per-sample mean."""
        nodes = torch.tensor(self._nodes_per_sample(), dtype=torch.float32, device=self.device)
        return nodes.unsqueeze(1)

    def sample_mean(self, x: Tensor) -> Tensor:
        """The mean of ``x`` ``(N, C)`` over every sample's nodes, ``(B, C)``: one sum into
        the samples and one division."""
        sums = x.new_zeros(self.shape.num_samples, x.shape[1]).index_add(0, self.node_sample, x)
        return sums / self.sample_nodes

    @_memoised
    def frame_track(self) -> Tensor:
        """``(F,)`` the track of every frame."""
        return _arange_repeated(self.shape.lengths, self.device)

    @_memoised
    def track_starts(self) -> Tensor:
        """``(R,)`` the index (among all ``F`` frames) of every track's first frame."""
        return torch.tensor(_offsets(self.shape.lengths), dtype=torch.long, device=self.device)

    @_memoised
    def frame_in_track(self) -> Tensor:
        """``(F,)`` the frame number of every frame within its track."""
        frames = torch.arange(self.shape.num_frames, device=self.device)
        return frames - self.track_starts[self.frame_track]

    @_memoised
    def node_frames(self) -> tuple[Tensor, Tensor]:
        """``(N,)`` each: every node's frame number in its track, and the track's length."""
        joints = self.num_joints
        frame = self.frame_in_track.repeat_interleave(joints)
        length = self.lengths.index_select(0, self.frame_track).repeat_interleave(joints)
        return frame, length

    @_memoised
    def padded_frames(self) -> Tensor:
        """``(F,)`` where every frame sits in an ``(R, T_max)`` grid of the tracks padded to the
        longest one (``track * T_max + frame``), for per-track dense products."""
        longest = max(self.shape.lengths)
        return self.frame_track * longest + self.frame_in_track

    @_memoised
    def frame_person(self) -> Tensor:
        """``(F,)`` the person slot of every frame: ``m`` for the frames of the track that is
        person ``m`` of its sample."""
        slots = [slot for count in self.shape.persons for slot in range(count)]
        track_person = torch.tensor(slots, dtype=torch.long, device=self.device)
        return track_person.index_select(0, self.frame_track)

    def person_frame_counts(self, slots: int) -> Tensor:
        """``(slots,)`` how many frames every person slot has (float; 0 for a slot that no
        sample fills), from the host shape (memoised)."""
        key = f"person_frame_counts/{slots}"
        if key not in self._memo:
            counts = [0] * slots
            track = 0
            for persons in self.shape.persons:
                for slot in range(persons):
                    if slot < slots:
                        counts[slot] += self.shape.lengths[track]
                    track += 1
            self._memo[key] = torch.tensor(counts, dtype=torch.float32, device=self.device)
        return self._memo[key]

    def kept_frames(self, stride: int) -> Tensor:
        """``(F',)`` the frames (among this level's ``F``) that a stride keeps, in order: frames
        ``0, s, 2s, ...`` of every track; they are the frames of :meth:`coarsen`'s level."""
        key = f"kept_frames/{stride}"
        if key not in self._memo:
            self._memo[key] = self.coarsen(stride)._fine_frames(self, stride)
        return self._memo[key]

    def tap_frames(self, stride: int) -> tuple[Tensor, Tensor, Tensor]:
        """For every frame of :meth:`coarsen`'s level, as ``(F', 1, 1)`` columns (among this
        level's ``F`` frames): the frame it keeps (frame ``s t'`` of its track), and its
        track's first and last frames (memoised)."""
        key = f"tap_frames/{stride}"
        if key not in self._memo:
            coarse = self.coarsen(stride)
            first = self.track_starts.index_select(0, coarse.frame_track)
            last = first + self.lengths.index_select(0, coarse.frame_track) - 1
            kept = first + coarse.frame_in_track * stride
            self._memo[key] = tuple(t.view(-1, 1, 1) for t in (kept, first, last))
        return self._memo[key]

    def _fine_frames(self, fine: SkeletonLevel, stride: int) -> Tensor:
        """This (coarse) level's frames as frames of ``fine``, the level it strides."""
        return fine.track_starts[self.frame_track] + self.frame_in_track * stride

    def keep_index(self, stride: int) -> Tensor:
        """``(N',)`` the nodes of this level that form the next level after ``stride``."""
        key = f"keep_index/{stride}"
        if key not in self._memo:
            frames = self.kept_frames(stride)
            joints = torch.arange(self.num_joints, device=self.device)
            self._memo[key] = (frames[:, None] * self.num_joints + joints).view(-1)
        return self._memo[key]

    def select_kept(self, x: Tensor, stride: int) -> Tensor:
        """Rows of ``x`` ``(N, C)`` at the nodes a stride keeps, ``(N', C)``: a strided view
        copy for equal-length tracks, one gather otherwise."""
        if stride == 1:
            return x
        if self.shape.equal_lengths:
            tracks, frames = self.shape.num_tracks, self.shape.lengths[0]
            rows = x.view(tracks, frames, self.num_joints, -1)[:, ::stride]
            return rows.reshape(-1, x.shape[-1])
        return x.index_select(0, self.keep_index(stride))

    def frame_positions(self, pad: int, stride: int = 1) -> tuple[Tensor, Tensor, int]:
        """Tracks laid end to end with at least ``pad`` zero frames before, between and after.

        Every track starts at a position ``≡ pad (mod stride)`` (its gap is ``pad`` rounded up
        to the stride's grid), so a convolution of stride ``s`` without padding, whose output
        ``j`` is centred on position ``j s + pad``, computes frames ``0, s, 2s, ...`` of every
        track (plus a few gap frames). Returns the position of every frame ``(F,)``, the output
        ``j`` of every kept frame ``(F',)`` and the sequence's length.
        """
        key = (pad, stride)
        if key not in self._positions:
            slots = [(t + pad + stride - 1) // stride * stride for t in self.shape.lengths]
            starts = torch.tensor(_offsets(slots), dtype=torch.long, device=self.device)
            position = self.frame_in_track + pad + starts[self.frame_track]
            coarse = self.coarsen(stride)
            output = coarse.frame_in_track + starts[coarse.frame_track] // stride
            self._positions[key] = (position, output, sum(slots) + pad)
        return self._positions[key]

    def node_positions(self, pad: int, stride: int = 1) -> tuple[Tensor, Tensor, int]:
        """:meth:`frame_positions` per node: the sequence row ``position V + v`` of every node
        ``(N,)``, the output row of every kept node ``(N',)`` and the sequence's frames
        (memoised)."""
        key = f"node_positions/{pad}/{stride}"
        if key not in self._memo:
            position, output, total = self.frame_positions(pad, stride)
            joints = torch.arange(self.num_joints, device=self.device)
            self._memo[key] = (
                (position[:, None] * self.num_joints + joints).view(-1),
                (output[:, None] * self.num_joints + joints).view(-1),
                total,
            )
        return self._memo[key]

    def temporal(self, window: int, dilation: int = 1, stride: int = 1) -> tuple[Tensor, Tensor]:
        """Temporal ``(edge_index, edge_type)`` of a window, targets at stride ``stride``."""
        key = (window, dilation, stride)
        if key not in self._temporal:
            self._temporal[key] = temporal_edges(
                self.lengths,
                self.num_joints,
                window,
                dilation,
                stride,
                num_targets=self.coarsen(stride).num_nodes,
            )
        return self._temporal[key]

    @property
    def spatial(self) -> dict[str, Tensor]:
        """Explicit spatial edges, keyword arguments for
        :class:`~pyg_action.nn.PartitionedGraphConv` (built from the graph, once, when the
        batch brought none)."""
        return (self.edges or self._layout_edges).as_kwargs()

    @_memoised
    def _layout_edges(self) -> SpatialEdges:
        from .skeleton_graph import spatial_edges  # the builder imports this module

        if self.graph is None:
            raise ValueError("this level has no layout graph, so no spatial edges")
        edges = spatial_edges(self.graph, self.shape.num_frames)
        return SpatialEdges(
            *(edges[f"spatial_edge_{n}"].to(self.device) for n in ("index", "type", "weight", "id"))
        )

    @_memoised
    def block_plan(self) -> BlockPlan | None:
        """One frame's spatial graph as a :class:`~pyg_action.graph.blocks.BlockPlan` over the
        ``F`` frames, when every frame has the layout graph's edges; ``None`` otherwise."""
        if not self.structured_frames:
            return None
        assert self.graph is not None
        graph, device = self.graph, self.device
        return BlockPlan(
            self.shape.num_frames,
            self.num_joints,
            graph.num_edges,
            torch.from_numpy(np.stack([graph.src, graph.dst])).long().to(device),
            torch.from_numpy(graph.edge_type).long().to(device),
            torch.from_numpy(graph.edge_weight).float().to(device),
        )

    @property
    def structured_frames(self) -> bool:
        """Whether every frame has the layout graph's edges (one ``(K, V, V)`` adjacency)."""
        return self.graph is not None and self.edges is None

    # -- coarsening ---------------------------------------------------------------------------

    def coarsen(self, stride: int) -> SkeletonLevel:
        """The level after a temporal stride (itself when ``stride == 1``; memoised)."""
        if stride == 1:
            return self
        if stride not in self._coarse:
            shape = self.shape.strided(stride)
            edges = None if self.edges is None else self._coarse_edges(stride)
            self._coarse[stride] = SkeletonLevel(shape, self.device, self.graph, edges)
        return self._coarse[stride]

    def _coarse_edges(self, stride: int) -> SpatialEdges:
        """The explicit spatial edges of the kept frames (within-frame edges, listed frame by
        frame, so the kept ones are known from the shape), relabelled to the coarse nodes."""
        assert self.edges is not None
        index = self.edges.edge_index
        frames, v = self.shape.num_frames, self.num_joints
        if index.shape[1] % frames:
            raise ValueError(f"{index.shape[1]} spatial edges do not split into {frames} frames")
        per_frame = index.shape[1] // frames
        coarse_shape = self.shape.strided(stride)
        keep_frames = SkeletonLevel(coarse_shape, self.device)._fine_frames(self, stride)
        frame_new = torch.full((frames,), -1, dtype=torch.long, device=self.device)
        frame_new[keep_frames] = torch.arange(coarse_shape.num_frames, device=self.device)
        edge_keep = keep_frames[:, None] * per_frame + torch.arange(per_frame, device=self.device)
        edge_keep = edge_keep.view(-1)
        kept = index.index_select(1, edge_keep)
        return SpatialEdges(
            frame_new[kept // v] * v + kept % v,
            self.edges.edge_type.index_select(0, edge_keep),
            self.edges.edge_weight.index_select(0, edge_keep),
            self.edges.edge_slot.index_select(0, edge_keep),
        )
