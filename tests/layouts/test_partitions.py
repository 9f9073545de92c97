import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyg_action.layouts import (
    BUILTIN_LAYOUTS,
    NTU25,
    STRATEGIES,
    SkeletonLayout,
    adjacency_tensor,
    get_layout,
    gravity_partition_labels,
    hop_distance,
    layout_graph,
)

CHAIN = SkeletonLayout("chain", ("a", "b", "c"), ((0, 1), (1, 2)), center=1)


def official_rule(layout, strategy, max_hop, dilation):
    """The official st-gcn Graph algorithm written as plain loops (independent of the code)."""
    v_count = layout.num_joints
    hop = hop_distance(v_count, layout.bones, max_hop)
    valid = range(0, max_hop + 1, dilation)
    adj = np.zeros((v_count, v_count))
    for h in valid:
        adj[hop == h] = 1
    norm = np.zeros_like(adj)
    for w in range(v_count):
        deg = adj[:, w].sum()
        for v in range(v_count):
            if deg > 0:
                norm[v, w] = adj[v, w] / deg
    if strategy == "uniform":
        return norm[None]
    if strategy == "distance":
        out = np.zeros((len(valid), v_count, v_count))
        for i, h in enumerate(valid):
            out[i][hop == h] = norm[hop == h]
        return out
    c = layout.center
    parts = []
    for h in valid:
        root, close, further = (np.zeros((v_count, v_count)) for _ in range(3))
        for i, j in itertools.product(range(v_count), range(v_count)):
            if hop[j, i] == h:
                if hop[j, c] == hop[i, c]:
                    root[j, i] = norm[j, i]
                elif hop[j, c] > hop[i, c]:
                    close[j, i] = norm[j, i]
                else:
                    further[j, i] = norm[j, i]
        if h == 0:
            parts.append(root)
        else:
            parts += [root + close, further]
    return np.stack(parts)


def test_chain_spatial_hand_derived():
    a = adjacency_tensor(CHAIN, "spatial")
    expected = np.zeros((3, 3, 3))
    expected[0] = np.diag([1 / 2, 1 / 3, 1 / 2])
    expected[1][0, 1] = expected[1][2, 1] = 1 / 3  # leaves are farther from the centre
    expected[2][1, 0] = expected[2][1, 2] = 1 / 2  # the centre is closer than each leaf
    np.testing.assert_allclose(a, expected)


def test_chain_uniform_and_distance_hand_derived():
    u = adjacency_tensor(CHAIN, "uniform")
    np.testing.assert_allclose(u[0], [[1 / 2, 1 / 3, 0], [1 / 2, 1 / 3, 1 / 2], [0, 1 / 3, 1 / 2]])
    d = adjacency_tensor(CHAIN, "distance")
    np.testing.assert_allclose(d.sum(0), u[0])
    np.testing.assert_allclose(d[0], np.diag([1 / 2, 1 / 3, 1 / 2]))


def test_chain_inward_outward_hand_derived():
    a = adjacency_tensor(CHAIN, "inward_outward")
    np.testing.assert_allclose(a[0], np.eye(3))
    # parent (b) sent to each child: one parent each
    np.testing.assert_allclose(a[1], [[0, 0, 0], [1, 0, 1], [0, 0, 0]])
    # children sent to the parent, averaged over its two children
    np.testing.assert_allclose(a[2], [[0, 1 / 2, 0], [0, 0, 0], [0, 1 / 2, 0]])


@pytest.mark.parametrize("name", sorted(BUILTIN_LAYOUTS))
@pytest.mark.parametrize("strategy", ["uniform", "distance", "spatial"])
@pytest.mark.parametrize("max_hop,dilation", [(1, 1), (2, 1), (2, 2)])
def test_equals_official_rule(name, strategy, max_hop, dilation):
    layout = BUILTIN_LAYOUTS[name]
    np.testing.assert_allclose(
        adjacency_tensor(layout, strategy, max_hop, dilation),
        official_rule(layout, strategy, max_hop, dilation),
    )


def test_ntu25_spatial_follows_the_papers_rules():
    a = adjacency_tensor(NTU25, "spatial_full_hops")
    hop = hop_distance(25, NTU25.bones, 25)
    to_centre = hop[:, NTU25.center]
    assert a.shape == (3, 25, 25)
    assert np.count_nonzero(a) == 25 + 2 * len(NTU25.bones)
    assert np.array_equal(np.nonzero(a[0])[0], np.nonzero(a[0])[1])  # root = self only
    for v, w in zip(*np.nonzero(a[1]), strict=True):
        assert to_centre[v] >= to_centre[w]  # neighbour at least as far from the centre
    for v, w in zip(*np.nonzero(a[2]), strict=True):
        assert to_centre[v] < to_centre[w]  # neighbour closer to the centre
    # the centre (spine at shoulders) receives 4 neighbours, all farther away
    assert np.count_nonzero(a[1][:, NTU25.center]) == 4
    assert np.count_nonzero(a[2][:, NTU25.center]) == 0
    # every non-root joint has exactly one closer neighbour (its parent) in a tree
    assert np.all(np.count_nonzero(a[2], axis=0)[np.arange(25) != NTU25.center] == 1)


def test_official_spatial_ties_joints_beyond_max_hop():
    official = adjacency_tensor(NTU25, "spatial")
    full = adjacency_tensor(NTU25, "spatial_full_hops")
    np.testing.assert_allclose(official.sum(0), full.sum(0))  # same neighbours and weights
    # right elbow (9) -> right wrist (10): both beyond one hop of the centre, so they tie
    assert official[1, 9, 10] > 0 and full[2, 9, 10] > 0


@st.composite
def random_trees(draw):
    n = draw(st.integers(2, 30))
    bones = tuple((i, draw(st.integers(0, i - 1))) for i in range(1, n))
    centre = draw(st.integers(0, n - 1))
    return SkeletonLayout("tree", tuple(f"j{i}" for i in range(n)), bones, centre)


@settings(max_examples=60, deadline=None)
@given(layout=random_trees(), strategy=st.sampled_from(STRATEGIES), max_hop=st.integers(1, 3))
def test_partition_invariants(layout, strategy, max_hop):
    a = adjacency_tensor(layout, strategy, max_hop)
    assert np.all(a >= 0)
    # every joint pair lies in at most one partition
    assert np.all((a > 0).sum(0) <= 1)
    if strategy == "inward_outward":
        np.testing.assert_allclose(a[0], np.eye(layout.num_joints))
        for k in (1, 2):
            sums = a[k].sum(0)
            assert np.all(np.isclose(sums, 0) | np.isclose(sums, 1))
    else:
        # the ST-GCN normalisation: each target's incoming weights sum to one
        np.testing.assert_allclose(a.sum(axis=(0, 1)), np.ones(layout.num_joints))
        hop = hop_distance(layout.num_joints, layout.bones, max_hop)
        np.testing.assert_array_equal(a.sum(0) > 0, hop <= max_hop)
    graph = layout_graph(layout, strategy, max_hop)
    np.testing.assert_allclose(graph.dense(), a)
    assert np.all(np.diff(graph.dst) >= 0)  # sorted by target


def test_gravity_labels_match_fixed_centre_when_centre_is_gravity_centre():
    layout = CHAIN
    graph = layout_graph(layout, "spatial")
    pos = np.array([[[-1.0, 0, 0], [0, 0, 0], [1.0, 0, 0]]])  # b is the centre of gravity
    np.testing.assert_array_equal(gravity_partition_labels(graph, pos)[0], graph.edge_type)
    folded = np.array([[[0.0, 0, 0], [1.0, 0, 0], [0, 0.1, 0]]])  # a and c fold back near b
    labels = gravity_partition_labels(graph, folded)[0]
    # gravity centre (1/3, 1/30): b is now the farthest joint, so b -> a and b -> c are label 1
    for leaf in (0, 2):
        edge = np.flatnonzero((graph.src == 1) & (graph.dst == leaf))[0]
        assert graph.edge_type[edge] == 2 and labels[edge] == 1


def test_layout_from_dict_and_file(tmp_path):
    spec = {
        "name": "arm",
        "joints": ["s", "e", "w"],
        "bones": [["s", "e"], ["e", "w"]],
        "center": "s",
    }
    layout = get_layout(spec)
    assert layout.parents == (0, 0, 1)
    assert layout.inward_bones() == [(1, 0), (2, 1)]
    path = tmp_path / "arm.yaml"
    path.write_text("name: arm\njoints: [s, e, w]\nbones: [[s, e], [e, w]]\ncenter: s\n")
    assert get_layout(path) == layout
    with pytest.raises(ValueError, match="not connected"):
        get_layout({"name": "x", "joints": ["a", "b", "c"], "bones": [["a", "b"]], "center": "a"})
    with pytest.raises(ValueError, match="unknown joint"):
        get_layout({"name": "x", "joints": ["a"], "bones": [["a", "q"]], "center": "a"})
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="bad.json"):
        get_layout(bad)


def test_bone_stream_uses_layout_parents():
    x = np.arange(9, dtype=float).reshape(3, 3)  # (V, C)
    bones = CHAIN.bone_array(x, axis=0)
    np.testing.assert_allclose(bones[1], 0)  # centre
    np.testing.assert_allclose(bones[0], x[0] - x[1])
    np.testing.assert_allclose(bones[2], x[2] - x[1])
