import numpy as np
import pytest

from skeleton_zoo import layouts
from skeleton_zoo.layouts import SkeletonLayout


OFFICIAL = {
    "h36m17": ([-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15], [3, 6, 10, 13, 16],
               [4, 5, 6, 11, 12, 13], [1, 2, 3, 14, 15, 16]),
    "h36m16": ([-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 8, 10, 11, 8, 13, 14], [3, 6, 9, 12, 15],
               [4, 5, 6, 10, 11, 12], [1, 2, 3, 13, 14, 15]),
    "humaneva15": ([-1, 0, 1, 2, 3, 1, 5, 6, 0, 8, 9, 0, 11, 12, 1], [4, 7, 10, 13],
                   [2, 3, 4, 8, 9, 10], [5, 6, 7, 11, 12, 13]),
    "h36m19": ([-1, 0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 10, 13, 14, 10, 16, 17],
               [3, 4, 7, 8, 12, 15, 18], [5, 6, 7, 8, 13, 14, 15], [1, 2, 3, 4, 16, 17, 18]),
}


@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_official_layout_values(name):
    parents, distal, left, right = OFFICIAL[name]
    layout = layouts.get_layout(name)
    assert list(layout.parents) == parents
    assert list(layout.distal_joints) == distal
    assert list(layout.joints_left) == left
    assert list(layout.joints_right) == right
    assert len(layout.joint_names) == len(parents)


def _official_local_matrices(parents, distal, left, right):
    """The official LocalGraph construction, transcribed loop for loop."""
    v = len(parents)
    adj = np.eye(v)
    for child, parent in enumerate(parents):
        if parent >= 0:
            adj[child, parent] = adj[parent, child] = 1
    adj = adj / adj.sum(1, keepdims=True)  # row-normalised like adj_mx_from_skeleton
    sym = np.zeros((v, v))
    for i in range(v):
        sym[i, i] = 1
        if i in left:
            sym[i, right[left.index(i)]] = 1
        if i in right:
            sym[i, left[right.index(i)]] = 1
    first, second = adj.copy(), adj @ adj
    first[distal] = 0
    second[[i for i in range(v) if i not in distal]] = 0
    return sym > 0, (first + second) > 0


@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_graph_matrices_match_official_construction(name):
    layout = layouts.get_layout(name)
    sym, con = _official_local_matrices(*OFFICIAL[name])
    np.testing.assert_array_equal(layouts.symmetry_adjacency(layout) > 0, sym)
    np.testing.assert_array_equal(layouts.kinematic_adjacency(layout) > 0, con)


def test_h36m17_edge_counts_match_official_parameter_shapes():
    # gcn_sym.e is (C, 29) and gcn_con.e is (C, 54) in the official checkpoints.
    layout = layouts.get_layout("h36m17")
    assert int(layouts.symmetry_adjacency(layout).sum()) == 29
    assert int(layouts.kinematic_adjacency(layout).sum()) == 54
    a = layouts.adjacency(layout)
    np.testing.assert_array_equal(a, a.T)
    assert int(a.sum()) == 17 + 2 * 16


@pytest.mark.parametrize("name", ["coco17", "ntu25", "h36m17", "humaneva15", "h36m16", "h36m19"])
def test_builtin_layouts_are_consistent(name):
    layout = layouts.get_layout(name)
    perm = layout.mirror_permutation()
    np.testing.assert_array_equal(perm[perm], np.arange(layout.num_joints))
    for left, right in zip(layout.joints_left, layout.joints_right):
        assert "left" in layout.joint_names[left] and "right" in layout.joint_names[right]


def test_ntu25_parents_are_the_stgcn_inward_edges():
    inward_1based = [(1, 2), (2, 21), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6), (8, 7), (9, 21),
                     (10, 9), (11, 10), (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1),
                     (18, 17), (19, 18), (20, 19), (22, 23), (23, 8), (24, 25), (25, 12)]
    layout = layouts.get_layout("ntu25")
    assert sorted(layout.edges) == sorted((i - 1, j - 1) for i, j in inward_1based)


def test_custom_layout_defaults_distal_to_leaves():
    layout = SkeletonLayout.from_parents([-1, 0, 1, 0, 3, 0], joints_left=[1, 2], joints_right=[3, 4])
    assert layout.distal_joints == (2, 4, 5)
    assert layout.num_joints == 6
    override = SkeletonLayout.from_parents([-1, 0, 1, 0, 3, 0], distal_joints=[2, 4])
    assert override.distal_joints == (2, 4)
    # Distal joints reach two bones away in A_c.
    con = layouts.kinematic_adjacency(layout)
    assert con[2].nonzero()[0].tolist() == [0, 1, 2]
    assert con[1].nonzero()[0].tolist() == [0, 1, 2]


def test_layout_round_trips_through_config():
    layout = layouts.get_layout("humaneva15")
    assert SkeletonLayout.from_config(layout.to_config()) == layout
    assert layouts.get_layout(layout.to_config()) == layout
    assert layouts.get_layout("HumanEva-15") is layout


@pytest.mark.parametrize(
    "parents, match",
    [
        ([-1, 0, -1], "exactly one root"),
        ([1, 0, 0], "exactly one root"),
        ([-1, 2, 1], "cycle"),
        ([-1, 0, 7], r"\[0, 3\)"),
    ],
)
def test_non_tree_parents_are_rejected(parents, match):
    with pytest.raises(ValueError, match=match):
        SkeletonLayout.from_parents(parents)


def test_bad_mirror_lists_are_rejected():
    with pytest.raises(ValueError, match="pair up"):
        SkeletonLayout.from_parents([-1, 0, 0], joints_left=[1], joints_right=[])
    with pytest.raises(ValueError, match="both"):
        SkeletonLayout.from_parents([-1, 0, 0], joints_left=[1], joints_right=[1])


def test_unknown_layout_names_the_choices():
    with pytest.raises(ValueError, match=r"Unknown layout 'h36m18'.*Did you mean"):
        layouts.get_layout("h36m18")


def test_layout_is_immutable():
    layout = layouts.get_layout("h36m17")
    with pytest.raises(Exception):
        layout.parents = (0,)


def test_openpose18_graph_and_bones_are_st_trs_kinetics():
    """The tree is ST-GCN's / ST-TR's Kinetics inward edges (`st_gcn/graph/kinetics.py`); the bones
    are `ntu_gen_bones.py`'s 'kinetics' pairs, which hang the neck from the nose instead."""
    layout = layouts.get_layout("kinetics")
    inward = [(4, 3), (3, 2), (7, 6), (6, 5), (13, 12), (12, 11), (10, 9), (9, 8), (11, 5), (8, 2), (5, 1),
              (2, 1), (0, 1), (15, 0), (14, 0), (17, 15), (16, 14)]
    assert layout.name == "openpose18" and sorted(layout.edges) == sorted(inward)
    pairs = ((0, 0), (1, 0), (2, 1), (3, 2), (4, 3), (5, 1), (6, 5), (7, 6), (8, 2), (9, 8), (10, 9), (11, 5),
             (12, 11), (13, 12), (14, 0), (15, 0), (16, 14), (17, 15))
    x = np.random.default_rng(0).normal(size=(2, 5, 18, 2, 3))
    expected = np.stack([x[:, :, a] - x[:, :, b] for a, b in pairs], axis=2)
    np.testing.assert_array_equal(layouts.joints_to_bones(x, layout, joint_axis=2), expected)
    assert SkeletonLayout.from_config(layout.to_config()) == layout
    with pytest.raises(ValueError, match="`bone_parents` must hold 3 entries"):
        SkeletonLayout("x", ("a", "b", "c"), (-1, 0, 1), (), (), (2,), bone_parents=(-1, 0))
