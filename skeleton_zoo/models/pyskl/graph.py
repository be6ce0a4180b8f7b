"""PYSKL's skeleton graphs (`pyskl/utils/graph.py`), as numpy.

PYSKL keeps its own edge lists, which differ from ST-GCN's (and so from
`skeleton_zoo.layouts`' kinematic trees) for NTU-25's hands: PYSKL joins both
hand tips and thumbs to the hand (joints 21, 22 -> 7 and 23, 24 -> 11), ST-GCN
chains them. The weights were trained on PYSKL's graphs, so they are used here.

Graphs are (K, V, V) arrays; a graph convolution aggregates y = x @ A_k over
the joint axis (`edge2mat` puts edge (i, j) at A[j, i]).
"""

from __future__ import annotations

import numpy as np

# layout name (ours) -> PYSKL's `inward` edges (child, parent), 0-based.
INWARD_EDGES = {
    "ntu25": tuple((i - 1, j - 1) for i, j in (
        (1, 2), (2, 21), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6), (8, 7), (9, 21), (10, 9), (11, 10), (12, 11),
        (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17), (19, 18), (20, 19), (22, 8), (23, 8), (24, 12),
        (25, 12))),
    "coco17": ((15, 13), (13, 11), (16, 14), (14, 12), (11, 5), (12, 6), (9, 7), (7, 5), (10, 8), (8, 6), (5, 0),
               (6, 0), (1, 0), (3, 1), (2, 0), (4, 2)),
}
PYSKL_LAYOUT_NAMES = {"ntu25": "nturgb+d", "coco17": "coco"}
MODES = ("spatial", "binary_adj")


def _edge_matrix(edges, num_joints: int) -> np.ndarray:
    a = np.zeros((num_joints, num_joints))
    for i, j in edges:
        a[j, i] = 1.0
    return a


def _normalize_digraph(a: np.ndarray) -> np.ndarray:
    """A D^-1 with D the column sums (zero columns stay zero)."""
    degree = a.sum(axis=0)
    inverse = np.divide(1.0, degree, out=np.zeros_like(degree), where=degree > 0)
    return a * inverse[None, :]


def pyskl_graph(layout: str, mode: str = "spatial") -> np.ndarray:
    """PYSKL's `Graph(layout, mode).A` for one of our layout names.

    Args:
        layout: "ntu25" (PYSKL "nturgb+d") or "coco17" (PYSKL "coco").
        mode: "spatial" (self, inward, outward: K = 3) or "binary_adj"
            (the symmetric 0/1 adjacency, K = 1). Defaults to "spatial".

    Returns:
        float32 array (K, V, V).
    """
    if layout not in INWARD_EDGES:
        raise ValueError(f"pyskl_graph: `layout` must be one of {sorted(INWARD_EDGES)} (PYSKL's graphs), "
                         f"found {layout!r}.")
    inward = INWARD_EDGES[layout]
    v = 1 + max(max(edge) for edge in inward)
    outward = tuple((j, i) for i, j in inward)
    if mode == "spatial":
        a = np.stack([np.eye(v), _normalize_digraph(_edge_matrix(inward, v)),
                      _normalize_digraph(_edge_matrix(outward, v))])
    elif mode == "binary_adj":
        a = _edge_matrix(inward + outward, v)[None]
    else:
        raise ValueError(f"pyskl_graph: `mode` must be one of {MODES}, found {mode!r}.")
    return a.astype(np.float32)


def _k_adjacency(a: np.ndarray, k: int) -> np.ndarray:
    """PYSKL's `k_adjacency(A, k, with_self=True)`: joints exactly k hops away, plus self (k = 0: self only)."""
    identity = np.eye(len(a), dtype=a.dtype)
    if k == 0:
        return identity
    reach = lambda n: np.minimum(np.linalg.matrix_power(a + identity, n), 1)  # noqa: E731
    return reach(k) - reach(k - 1) + identity


def multiscale_graphs(adjacency: np.ndarray, num_scales: int) -> np.ndarray:
    """MS-G3D's disentangled multi-scale graphs: for k < num_scales the
    k-hop adjacency with self-loops, normalised A D^-1 (PYSKL `MSGCN`).

    Args:
        adjacency: (V, V) 0/1 array.
        num_scales: int.

    Returns:
        float32 array (num_scales, V, V).
    """
    a = np.asarray(adjacency, dtype=np.float64)
    return np.stack([_normalize_digraph(_k_adjacency(a, k)) for k in range(int(num_scales))]).astype(np.float32)


def window_graph(adjacency: np.ndarray, window: int) -> np.ndarray:
    """MS-G3D's spatio-temporal graph of a `window`-frame window: (A + I)
    tiled window x window times, so every joint connects to itself and its
    neighbours in every frame of the window. (V, V) -> (window V, window V)."""
    a = np.asarray(adjacency, dtype=np.float64)
    return np.tile(a + np.eye(len(a)), (int(window), int(window)))
