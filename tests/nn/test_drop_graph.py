"""DropGraph on node rows against its dense reference, and the masks it draws."""

from __future__ import annotations

import pytest
import torch

from pyg_action.graph.levels import SkeletonLevel, TrackShape
from pyg_action.layouts import get_layout
from pyg_action.models.ctrgcn import ctrgcn_adjacency
from pyg_action.nn.dense.drop_graph import DenseDropGraph
from pyg_action.nn.drop_graph import DropGraph, joint_reach


def rows_of_tracks(tracks: torch.Tensor) -> torch.Tensor:
    """``(R, C, T, V)`` -> node rows ``(R T V, C)``, frame-major per track."""
    return tracks.permute(0, 2, 3, 1).reshape(-1, tracks.shape[1])


@pytest.mark.parametrize("layout", ["ntu25", "openpose18", "msr20"])
@pytest.mark.parametrize("p, frames", [(0.1, 5), (0.3, 3), (0.5, 41)])
def test_drop_graph_matches_the_dense_reference(layout: str, p: float, frames: int) -> None:
    adjacency = ctrgcn_adjacency(layout)
    v = get_layout(layout).num_joints
    tracks = torch.randn(6, 8, 12, v) * torch.rand(6, 1, 12, v) * 3
    level = SkeletonLevel.structured(TrackShape((12,) * 6, (2, 1, 2, 1), v), "cpu")
    sparse, dense = DropGraph(p, adjacency, frames), DenseDropGraph(p, adjacency, frames)
    zeroed = 0
    for seed in range(5):
        torch.manual_seed(seed)
        expected = rows_of_tracks(dense(tracks))
        torch.manual_seed(seed)
        got = sparse(rows_of_tracks(tracks), level)
        torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-6)
        zeroed += int(got.eq(0).all(1).sum())
    assert zeroed > 0


def test_drop_graph_drops_whole_joints_and_frame_windows_within_tracks() -> None:
    v, lengths = 20, (9, 4, 15)
    adjacency = ctrgcn_adjacency("msr20")
    reach = joint_reach(adjacency)
    level = SkeletonLevel.structured(TrackShape(lengths, (1, 1, 1), v), "cpu")
    layer = DropGraph(0.5, adjacency, frames=5)
    x = torch.ones(level.num_nodes, 4)
    dropped_any = False
    for seed in range(40):
        torch.manual_seed(seed)
        out = layer(x, level)
        kept = out[:, 0].ne(0).view(-1, v)
        assert torch.equal(out.ne(0), kept.reshape(-1, 1).expand_as(out))  # all channels alike
        start = 0
        for length in lengths:
            track = kept[start : start + length]
            start += length
            live_frames = track.any(1)
            live_joints = track.any(0)
            # a frame is either dropped or keeps exactly the track's kept joints
            assert torch.equal(track[live_frames], live_joints.expand(int(live_frames.sum()), v))
            # a dropped joint takes its neighbours along unless they are dropped for a seed of
            # their own: the dropped set is a union of neighbourhoods
            gone = ~live_joints
            whole = (reach.bool() <= gone.unsqueeze(1)).all(0)  # seeds whose reach is gone
            assert torch.all((reach[:, whole].sum(1) > 0)[gone])
            dropped_any |= bool((~live_frames).any() or (~live_joints).any())
        values = out[out.ne(0)]
        assert torch.all(values >= 1.0)  # kept rows are scaled up, never down
    assert dropped_any


@pytest.mark.parametrize("layout", ["ntu25", "openpose18", "msr20"])
def test_a_seed_reaches_its_joint_and_the_joints_it_shares_a_bone_with(layout: str) -> None:
    skeleton = get_layout(layout)
    expected = torch.eye(skeleton.num_joints)
    for a, b in skeleton.bones:
        expected[a, b] = expected[b, a] = 1.0
    assert torch.equal(joint_reach(ctrgcn_adjacency(layout)), expected)


def test_frame_windows_stop_at_track_ends() -> None:
    """A seed in the last frame of a track must not drop the next track's first frames."""
    v = 20
    level = SkeletonLevel.structured(TrackShape((6, 6), (1, 1), v), "cpu")
    layer = DropGraph(0.1, ctrgcn_adjacency("msr20"), frames=5)
    seeds = torch.zeros(12)
    seeds[5] = 1.0  # last frame of the first track
    kept = layer._seedless_windows(seeds, level)
    assert kept.tolist() == [True, True, True, False, False, False] + [True] * 6


def test_drop_graph_is_the_identity_in_eval_mode_and_at_rate_zero() -> None:
    adjacency = ctrgcn_adjacency("ntu25")
    level = SkeletonLevel.structured(TrackShape((7, 3), (2,), 25), "cpu")
    x = torch.randn(level.num_nodes, 5)
    assert DropGraph(0.0, adjacency)(x, level) is x
    layer = DropGraph(0.4, adjacency).eval()
    assert layer(x, level) is x


def test_drop_graph_expected_drop_share_follows_the_rate() -> None:
    """About ``p`` of the joints and about ``p`` of the frames go (the paper's calibration:
    a seed drops ``1 + mean degree`` joints, a frame seed ``w`` frames)."""
    v = 25
    level = SkeletonLevel.structured(TrackShape((64,) * 32, (1,) * 32, v), "cpu")
    layer = DropGraph(0.1, ctrgcn_adjacency("ntu25"), frames=9)
    x = torch.ones(level.num_nodes, 1)
    torch.manual_seed(0)
    kept = torch.stack([layer(x, level).ne(0).float().mean() for _ in range(50)]).mean()
    assert 0.75 < float(kept) < 0.88  # (1 - 0.1)^2 = 0.81 with overlaps and edge effects


def test_drop_graph_options_are_checked() -> None:
    adjacency = ctrgcn_adjacency("ntu25")
    with pytest.raises(ValueError, match="drop rate"):
        DropGraph(1.0, adjacency)
    with pytest.raises(ValueError, match="odd"):
        DropGraph(0.1, adjacency, frames=4)
    with pytest.raises(ValueError, match="drop_graph_ramp_epochs"):
        DropGraph(0.1, adjacency, ramp_epochs=-1)


def test_the_rate_ramps_up_over_the_epochs_and_the_dense_form_follows() -> None:
    """``p · min(1, e / E)``: nothing dropped in epoch 0, half the rate halfway, ``p`` from
    epoch ``E`` on; the dense reference follows the same schedule (parity at half rate)."""
    adjacency = ctrgcn_adjacency("ntu25")
    level = SkeletonLevel.structured(TrackShape((64,) * 32, (1,) * 32, 25), "cpu")
    layer = DropGraph(0.2, adjacency, frames=9, ramp_epochs=10)
    x = torch.ones(level.num_nodes, 1)

    def kept_share() -> float:
        torch.manual_seed(0)
        return float(torch.stack([layer(x, level).ne(0).float().mean() for _ in range(30)]).mean())

    layer.set_training_epoch(0)
    assert float(layer.rate) == 0.0 and kept_share() == 1.0
    layer.set_training_epoch(5)
    assert float(layer.rate) == pytest.approx(0.1)
    halfway = kept_share()
    layer.set_training_epoch(25)
    assert float(layer.rate) == pytest.approx(0.2)
    full = kept_share()
    assert full < halfway < 1.0
    assert halfway == pytest.approx(0.9**2, abs=0.04) and full == pytest.approx(0.8**2, abs=0.05)

    dense = DenseDropGraph(0.2, adjacency, frames=9, ramp_epochs=10)
    dense.set_training_epoch(5)
    tracks = torch.rand(4, 3, 16, 25)
    small = SkeletonLevel.structured(TrackShape((16,) * 4, (2, 2), 25), "cpu")
    torch.manual_seed(1)
    expected = rows_of_tracks(dense(tracks))
    layer.set_training_epoch(5)
    torch.manual_seed(1)
    torch.testing.assert_close(layer(rows_of_tracks(tracks), small), expected)
