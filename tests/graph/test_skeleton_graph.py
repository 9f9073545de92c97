import numpy as np
import pytest
import torch
from torch_geometric.loader import DataLoader

from pyg_action.graph import (
    SkeletonGraphBuilder,
    batch_to_dense,
    node_positions,
    strided_node_mask,
    temporal_edges,
    track_lengths,
)
from pyg_action.graph.levels import SkeletonLevel
from pyg_action.layouts import layout_graph

SHAPES = [(5, 1), (7, 2), (3, 1), (1, 2)]  # (T, M) of a mixed batch


@pytest.fixture
def samples():
    gen = torch.Generator().manual_seed(0)
    return [torch.randn(3, t, 25, m, generator=gen) for t, m in SHAPES]


def test_single_sample_graph(samples):
    data = SkeletonGraphBuilder("ntu25")(samples[1], label=4)
    data.validate(raise_on_error=True)
    t, m = SHAPES[1]
    assert data.num_nodes == t * m * 25
    assert data.spatial_edge_index.shape[1] == t * m * 73
    assert int(data.y) == 4
    # temporal edges never cross persons and stay within the window
    pos = node_positions(data.num_frames, data.num_persons, 25)
    src, dst = data.temporal_edge_index
    assert torch.equal(pos["person"][src], pos["person"][dst])
    assert torch.equal(pos["joint"][src], pos["joint"][dst])
    offset = pos["frame"][src] - pos["frame"][dst]
    assert torch.equal(offset, data.temporal_edge_type - 4)


def test_batching_offsets_and_round_trip(samples):
    builder = SkeletonGraphBuilder("ntu25")
    graphs = [builder(x, label=i) for i, x in enumerate(samples)]
    batch = next(iter(DataLoader(graphs, batch_size=len(graphs))))
    starts = torch.cumsum(torch.tensor([0] + [g.num_nodes for g in graphs[:-1]]), 0)
    for i, g in enumerate(graphs):
        lo = int(starts[i])
        sel = batch.batch[batch.spatial_edge_index[0]] == i
        assert torch.equal(batch.spatial_edge_index[:, sel] - lo, g.spatial_edge_index)
        assert torch.equal(batch.spatial_edge_id[sel], g.spatial_edge_id)  # not offset
        tsel = batch.batch[batch.temporal_edge_index[0]] == i
        assert torch.equal(batch.temporal_edge_index[:, tsel] - lo, g.temporal_edge_index)
    # no edge joins two samples
    for name in ("spatial_edge_index", "temporal_edge_index"):
        src, dst = getattr(batch, name)
        assert torch.equal(batch.batch[src], batch.batch[dst])
    dense = batch_to_dense(batch, 25)
    assert dense.shape == (4, 3, 7, 25, 2)
    for i, x in enumerate(samples):
        _, t, _, m = x.shape
        assert torch.equal(dense[i, :, :t, :, :m], x)
        assert dense[i, :, t:].abs().sum() == 0 and dense[i, ..., m:].abs().sum() == 0
    assert torch.equal(batch.y, torch.arange(4))


def test_temporal_edges_match_conv_padding():
    lengths = torch.tensor([5, 2])
    index, kind = temporal_edges(lengths, num_joints=1, window=3, stride=2)
    # outputs: track 0 frames 0,2,4 -> nodes 0,1,2 ; track 1 frame 0 -> node 3
    expected = {
        (0, 0, 1), (1, 0, 2),  # frame 0 <- frames 0, 1 (frame -1 missing)
        (1, 1, 0), (2, 1, 1), (3, 1, 2),
        (3, 2, 0), (4, 2, 1),  # frame 4 <- frames 3, 4 (frame 5 missing)
        (5, 3, 1), (6, 3, 2),  # second track starts at input node 5
    }  # fmt: skip
    got = {(int(s), int(d), int(k)) for (s, d), k in zip(index.t(), kind, strict=True)}
    assert got == expected
    assert torch.equal(strided_node_mask(lengths, 1, 2), torch.tensor([1, 0, 1, 0, 1, 1, 0]).bool())


def test_level_coarsening_keeps_within_frame_edges(samples):
    builder = SkeletonGraphBuilder("ntu25")
    batch = next(iter(DataLoader([builder(x) for x in samples], batch_size=4)))
    level = SkeletonLevel.from_batch(batch, 25)
    coarse = level.coarsen(2)
    expected_lengths = torch.tensor([3, 4, 4, 2, 1, 1])  # ceil(T/2) per person track
    assert torch.equal(coarse.lengths, expected_lengths)
    frames = int(expected_lengths.sum())
    assert coarse.num_nodes == frames * 25
    edges = coarse.spatial
    assert edges["edge_index"].shape[1] == frames * 73
    graph = layout_graph(builder.layout)
    first = edges["edge_index"][:, :73]
    assert torch.equal(
        first, torch.stack([torch.from_numpy(graph.src), torch.from_numpy(graph.dst)])
    )
    # the structured level of the same batch (no edges read) builds the same edges
    structured = SkeletonLevel.from_batch(batch, 25, graph).coarsen(2)
    assert structured.edges is None and structured.block_plan.num_blocks == frames
    for key, value in structured.spatial.items():
        assert torch.equal(value, edges[key]), key


def test_level_indices_follow_the_host_shape(samples):
    """Kept nodes, frame positions and node samples from the shape match the mask-based rule."""
    builder = SkeletonGraphBuilder("ntu25", edges=False)
    batch = next(iter(DataLoader([builder(x) for x in samples], batch_size=4)))
    assert not hasattr(batch, "spatial_edge_index")
    level = SkeletonLevel.from_batch(batch, 25)
    lengths = track_lengths(batch.num_frames, batch.num_persons)
    assert level.shape.lengths == tuple(lengths.tolist())
    for stride in (1, 2, 3):
        mask = strided_node_mask(lengths, 25, stride)
        assert torch.equal(level.keep_index(stride), mask.nonzero().view(-1))
        x = torch.randn(level.num_nodes, 2)
        assert torch.equal(level.select_kept(x, stride), x[mask])
        position, output, total = level.frame_positions(4, stride)
        # gaps of at least 4 zero frames around every track, tracks on the stride's grid
        starts = position[torch.cumsum(lengths, 0) - lengths]
        assert int(starts[0]) >= 4 and bool((starts % stride == 4 % stride).all())
        ends = position[torch.cumsum(lengths, 0) - 1]
        assert bool((starts[1:] - ends[:-1] > 4).all()) and total - int(ends[-1]) > 4
        assert torch.equal(output * stride + 4, position[mask[::25]])
    assert torch.equal(level.node_sample, batch.batch)
    # the same shape on the same device is one cached level
    assert SkeletonLevel.from_batch(batch, 25) is level


def test_builder_rejects_wrong_joint_count():
    with pytest.raises(ValueError, match="layout 'ntu25' has 25"):
        SkeletonGraphBuilder("ntu25")(np.zeros((3, 4, 18, 1), dtype=np.float32))
    with pytest.raises(ValueError, match=r"\(C, T, V, M\)"):
        SkeletonGraphBuilder("ntu25")(np.zeros((3, 4, 25), dtype=np.float32))


def test_centre_choice_fixed_joint_and_gravity(samples):
    x = samples[0]
    default = SkeletonGraphBuilder("ntu25")(x)
    other = SkeletonGraphBuilder("ntu25", center="spine_base")(x)

    def labelled(g):
        return sorted(
            zip(*g.spatial_edge_index.tolist(), g.spatial_edge_type.tolist(), strict=True)
        )

    assert {e[:2] for e in labelled(default)} == {e[:2] for e in labelled(other)}  # same edges
    assert labelled(default) != labelled(other)  # other partition labels
    gravity = SkeletonGraphBuilder("ntu25", center="gravity")(x)
    frames = x.shape[1] * x.shape[3]
    types = gravity.spatial_edge_type.view(frames, 73)
    assert not torch.equal(types[0], types[1])  # random poses: labels change per frame
    assert torch.equal(gravity.spatial_edge_weight, default.spatial_edge_weight)
    with pytest.raises(ValueError, match="spatial strategy"):
        SkeletonGraphBuilder("ntu25", "uniform", center="gravity")


def test_padded_and_person_frames_follow_the_host_shape(samples):
    """Per-track grids, every frame's person slot and every slot's frame count from the
    shape, against a dense layout built by hand: tracks (5), (7, 7), (3), (1, 1) frames."""
    builder = SkeletonGraphBuilder("ntu25", edges=False)
    batch = next(iter(DataLoader([builder(x) for x in samples], batch_size=4)))
    level = SkeletonLevel.from_batch(batch, 25)
    lengths = level.shape.lengths
    assert lengths == (5, 7, 7, 3, 1, 1)
    grid = torch.full((len(lengths), max(lengths)), -1)
    frame = 0
    for track, length in enumerate(lengths):
        grid[track, :length] = torch.arange(frame, frame + length)
        frame += length
    flat = grid.view(-1)
    assert torch.equal(flat[level.padded_frames], torch.arange(level.shape.num_frames))
    slots = [0, 0, 1, 0, 0, 1]  # the person slot of every track
    expected = [s for s, length in zip(slots, lengths, strict=True) for _ in range(length)]
    assert level.frame_person.tolist() == expected
    assert level.person_frame_counts(3).tolist() == [5 + 7 + 3 + 1, 7 + 1, 0]
