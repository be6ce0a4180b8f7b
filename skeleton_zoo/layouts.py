"""Skeleton layouts and the graph matrices the models derive from them.

A layout is the joint set of a dataset or a 2D detector: joint names, the
kinematic tree (`parents`), the mirror pairs (`joints_left[i]` mirrors
`joints_right[i]`) and the distal joints (extremities). Every graph a model
needs is computed here from a layout, so a model never hard-codes a joint count:

- `adjacency(layout)`: the base graph A + I of GAST-Net, shape (V, V).
- `kinematic_adjacency(layout)`: GAST-Net's A_c, shape (V, V): first-order
  neighbourhoods for ordinary joints, second-order ones for distal joints.
- `symmetry_adjacency(layout)`: GAST-Net's A_s, shape (V, V): self + mirror.
- `spatial_partitions(layout)`: ST-GCN's 3-partition matrix (self, inward,
  outward), shape (3, V, V), used by ST-TR's graph convolutions.
- `joints_to_bones(x, layout)`: bone vectors (joint minus parent).
- `skeleton_features(x, features, layout)`: an action model's input channels
  from joint coordinates ("joint", "joint+bone").

Built-in layouts are looked up by name with `get_layout` ("h36m17",
"h36m16", "h36m19", "humaneva15", "coco17", "ntu25", "openpose18"); a user
layout is made
with `SkeletonLayout.from_parents`.
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Mapping, Sequence

import numpy as np

__all__ = [
    "SkeletonLayout",
    "get_layout",
    "list_layouts",
    "register_layout",
    "adjacency",
    "kinematic_adjacency",
    "symmetry_adjacency",
    "spatial_partitions",
    "joints_to_bones",
    "skeleton_features",
    "SKELETON_FEATURES",
]


def _as_int_tuple(values, argument: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in values)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"SkeletonLayout: `{argument}` must be a sequence of integers, "
            f"found {values!r}."
        ) from error


@dataclasses.dataclass(frozen=True)
class SkeletonLayout:
    """An immutable skeleton layout.

    Args:
        name: str. Short identifier, e.g. `"h36m17"`.
        joint_names: tuple of str, one per joint (V entries).
        parents: tuple of int, V entries; `parents[i]` is the parent joint of
            joint `i`, -1 for the single root. Must form a tree.
        joints_left: tuple of int. Left-side joints.
        joints_right: tuple of int, same length as `joints_left`;
            `joints_right[k]` mirrors `joints_left[k]`.
        distal_joints: tuple of int. Extremities; GAST-Net gives them a
            second-order kinematic neighbourhood.
        bone_parents: tuple of int or None. The joint each bone vector is
            taken from (-1: a zero bone), when a dataset's bone convention
            differs from the graph's tree (ST-TR's Kinetics bones hang the neck
            from the nose). Defaults to None: `parents`.

    Use `SkeletonLayout.from_parents` to build one with defaults and checks;
    the constructor validates too.
    """

    name: str
    joint_names: tuple[str, ...]
    parents: tuple[int, ...]
    joints_left: tuple[int, ...]
    joints_right: tuple[int, ...]
    distal_joints: tuple[int, ...]
    bone_parents: tuple[int, ...] | None = None

    def __post_init__(self):
        for field in ("parents", "joints_left", "joints_right", "distal_joints"):
            object.__setattr__(self, field, _as_int_tuple(getattr(self, field), field))
        if self.bone_parents is not None:
            object.__setattr__(self, "bone_parents", _as_int_tuple(self.bone_parents, "bone_parents"))
        object.__setattr__(self, "joint_names", tuple(str(n) for n in self.joint_names))
        self._validate()

    # --- construction -----------------------------------------------------
    @classmethod
    def from_parents(
        cls,
        parents: Sequence[int],
        joints_left: Sequence[int] = (),
        joints_right: Sequence[int] = (),
        distal_joints: Sequence[int] | None = None,
        joint_names: Sequence[str] | None = None,
        name: str = "custom",
    ) -> "SkeletonLayout":
        """Makes a layout from a parent list and mirror pairs.

        Args:
            parents: sequence of int (V,). -1 marks the root.
            joints_left: sequence of int. Left joints, paired by position with
                `joints_right`. Defaults to none.
            joints_right: sequence of int. Defaults to none.
            distal_joints: sequence of int or None. Defaults to the leaves of
                the tree (joints that are nobody's parent).
            joint_names: sequence of str or None. Defaults to "joint_<i>".
            name: str. Defaults to "custom".
        """
        parents = _as_int_tuple(parents, "parents")
        if distal_joints is None:
            has_child = {p for p in parents if p >= 0}
            distal_joints = tuple(i for i in range(len(parents)) if i not in has_child)
        if joint_names is None:
            joint_names = tuple(f"joint_{i}" for i in range(len(parents)))
        return cls(
            name=name,
            joint_names=tuple(joint_names),
            parents=parents,
            joints_left=tuple(joints_left),
            joints_right=tuple(joints_right),
            distal_joints=tuple(distal_joints),
        )

    def _validate(self):
        v = len(self.parents)
        where = f"SkeletonLayout '{self.name}'"
        if v == 0:
            raise ValueError(f"{where}: `parents` is empty; expected one entry per joint.")
        if len(self.joint_names) != v:
            raise ValueError(
                f"{where}: `joint_names` has {len(self.joint_names)} entries, "
                f"expected {v} (one per entry of `parents`)."
            )
        bad = [p for p in self.parents if p < -1 or p >= v]
        if bad:
            raise ValueError(
                f"{where}: `parents` entries must be -1 or a joint index in [0, {v}), "
                f"found {bad}."
            )
        roots = [i for i, p in enumerate(self.parents) if p == -1]
        if len(roots) != 1:
            raise ValueError(
                f"{where}: `parents` does not form a tree: expected exactly one root "
                f"(-1), found {len(roots)} at joints {roots}."
            )
        for start in range(v):
            seen, joint = set(), start
            while joint != -1:
                if joint in seen:
                    raise ValueError(
                        f"{where}: `parents` does not form a tree: joint {start} "
                        f"reaches a cycle through joints {sorted(seen)}."
                    )
                seen.add(joint)
                joint = self.parents[joint]
        for field in ("joints_left", "joints_right", "distal_joints"):
            values = getattr(self, field)
            out = [j for j in values if not 0 <= j < v]
            if out:
                raise ValueError(
                    f"{where}: `{field}` entries must be joint indices in [0, {v}), found {out}."
                )
            if len(set(values)) != len(values):
                raise ValueError(f"{where}: `{field}` has repeated joints: {list(values)}.")
        if len(self.joints_left) != len(self.joints_right):
            raise ValueError(
                f"{where}: `joints_left` ({len(self.joints_left)} joints) and "
                f"`joints_right` ({len(self.joints_right)} joints) must pair up one to one."
            )
        both = set(self.joints_left) & set(self.joints_right)
        if both:
            raise ValueError(
                f"{where}: joints {sorted(both)} are in both `joints_left` and `joints_right`."
            )
        if self.bone_parents is not None and (
                len(self.bone_parents) != v or any(not -1 <= p < v for p in self.bone_parents)):
            raise ValueError(
                f"{where}: `bone_parents` must hold {v} entries, each -1 or a joint index in [0, {v}), "
                f"found {list(self.bone_parents)}."
            )

    # --- properties ---------------------------------------------------------
    @property
    def num_joints(self) -> int:
        return len(self.parents)

    @property
    def root(self) -> int:
        return self.parents.index(-1)

    @property
    def edges(self) -> tuple[tuple[int, int], ...]:
        """(child, parent) pairs, one per bone, in joint order."""
        return tuple((i, p) for i, p in enumerate(self.parents) if p >= 0)

    def mirror_permutation(self) -> np.ndarray:
        """Joint permutation (V,) swapping each left joint with its right twin."""
        perm = np.arange(self.num_joints)
        perm[list(self.joints_left)] = self.joints_right
        perm[list(self.joints_right)] = self.joints_left
        return perm

    # --- serialisation ------------------------------------------------------
    def to_config(self) -> dict:
        return {
            "name": self.name,
            "joint_names": list(self.joint_names),
            "parents": list(self.parents),
            "joints_left": list(self.joints_left),
            "joints_right": list(self.joints_right),
            "distal_joints": list(self.distal_joints),
            **({} if self.bone_parents is None else {"bone_parents": list(self.bone_parents)}),
        }

    @classmethod
    def from_config(cls, config: Mapping) -> "SkeletonLayout":
        return cls(**dict(config))


def adjacency(layout: SkeletonLayout) -> np.ndarray:
    """The undirected bone graph with self-loops, A + I.

    Returns:
        float32 array (V, V) of 0/1.
    """
    v = layout.num_joints
    a = np.eye(v, dtype=np.float32)
    for child, parent in layout.edges:
        a[child, parent] = a[parent, child] = 1.0
    return a


def kinematic_adjacency(layout: SkeletonLayout) -> np.ndarray:
    """GAST-Net's kinematic matrix A_c.

    Ordinary joints keep their row of A + I (self and bone neighbours);
    distal joints take their row of (A + I)^2, reaching two bones away,
    because an extremity alone carries too little context.

    Returns:
        float32 array (V, V) of 0/1.
    """
    first = adjacency(layout)
    second = (first @ first > 0).astype(np.float32)
    distal = np.zeros(layout.num_joints, dtype=bool)
    distal[list(layout.distal_joints)] = True
    return np.where(distal[:, None], second, first)


def symmetry_adjacency(layout: SkeletonLayout) -> np.ndarray:
    """GAST-Net's symmetry matrix A_s: each joint and its mirror twin.

    Returns:
        float32 array (V, V) of 0/1.
    """
    a = np.eye(layout.num_joints, dtype=np.float32)
    for left, right in zip(layout.joints_left, layout.joints_right):
        a[left, right] = a[right, left] = 1.0
    return a


def _normalize_columns(a: np.ndarray) -> np.ndarray:
    """A D^-1 with D the column sums (ST-GCN's `normalize_digraph`)."""
    degree = a.sum(axis=0)
    inverse = np.where(degree > 0, 1.0 / np.where(degree > 0, degree, 1.0), 0.0)
    return (a * inverse[None, :]).astype(np.float32)


def spatial_partitions(layout: SkeletonLayout) -> np.ndarray:
    """ST-GCN's "spatial" labelling: self, inward and outward partitions.

    Inward edges go from a joint to its parent (towards the root), e.g. for
    NTU-25 exactly ST-GCN's `inward_ori_index`. As in the official code,
    `edge2mat` puts edge (i, j) at [j, i] and each partition is normalised as
    A D^-1 (column sums). A graph convolution aggregates x' = x @ A_k over the
    joint axis.

    Returns:
        float32 array (3, V, V).
    """
    v = layout.num_joints
    inward = np.zeros((v, v), dtype=np.float32)
    for child, parent in layout.edges:
        inward[parent, child] = 1.0  # edge2mat: edge (i, j) -> A[j, i]
    outward = inward.T.copy()
    return np.stack([np.eye(v, dtype=np.float32), _normalize_columns(inward), _normalize_columns(outward)])


def joints_to_bones(joints, layout: SkeletonLayout, joint_axis: int = -2):
    """Bone vectors: each joint minus its parent (`layout.bone_parents` when
    set); the root's bone is zero.

    For NTU-25 these are exactly the official `ntu_gen_bones` pairs, whose
    (21, 21) pair gives the spine-shoulder root a zero bone; for OpenPose-18
    its 'kinetics' pairs (the nose's bone is zero, the neck's is neck - nose).

    Args:
        joints: array or tensor (..., V, C) (joints on `joint_axis`).
        layout: the skeleton layout, V joints.
        joint_axis: axis of the joints. Defaults to -2.

    Returns:
        Same type and shape as `joints`.
    """
    from keras import ops

    if joints.shape[joint_axis] != layout.num_joints:
        raise ValueError(
            f"joints_to_bones: expected {layout.num_joints} joints (layout '{layout.name}') on "
            f"axis {joint_axis}, found shape {tuple(joints.shape)}."
        )
    source = layout.parents if layout.bone_parents is None else layout.bone_parents
    parents = np.array([p if p >= 0 else i for i, p in enumerate(source)])
    if isinstance(joints, np.ndarray):
        return joints - np.take(joints, parents, axis=joint_axis)
    return joints - ops.take(joints, parents, axis=joint_axis)


# What an action model's input channels hold: "+"-joined parts, each
# "joint" (the coordinates) or "bone" (joint minus parent), concatenated on
# the channel axis in that order: "joint+bone" is the ST-TR bone models' input.
SKELETON_FEATURES = ("joint", "bone")


def skeleton_features(joints, features: str, layout: SkeletonLayout, joint_axis: int = -2):
    """An action model's input from joint coordinates.

    Args:
        joints: array or tensor (..., V, C), joints on `joint_axis`.
        features: "+"-joined parts of `SKELETON_FEATURES`, e.g. "joint"
            (the coordinates), "joint+bone" ([joints || bones]: the bone
            models' 2C channels) or "joint+joint+bone" (an ensemble of both).
        layout: the skeleton layout, V joints.

    Returns:
        (..., V, P * C) for P parts, same type as `joints`.
    """
    parts = str(features).split("+")
    if not all(part in SKELETON_FEATURES for part in parts):
        raise ValueError(f"skeleton_features: `features` must be '+'-joined parts of {list(SKELETON_FEATURES)}, "
                         f"found {features!r}.")
    if parts == ["joint"]:
        return joints
    bones = joints_to_bones(joints, layout, joint_axis=joint_axis) if "bone" in parts else None
    pieces = [joints if part == "joint" else bones for part in parts]
    if isinstance(joints, np.ndarray):
        return np.concatenate(pieces, axis=-1)
    from keras import ops

    return ops.concatenate(pieces, axis=-1)


# --- built-in layouts --------------------------------------------------------
_LAYOUTS: dict[str, SkeletonLayout] = {}


def register_layout(layout: SkeletonLayout, *aliases: str) -> SkeletonLayout:
    """Makes `layout` available to `get_layout` under its name and aliases."""
    for key in (layout.name, *aliases):
        _LAYOUTS[key] = layout
    return layout


def list_layouts() -> list[str]:
    """Names of the registered layouts (without aliases)."""
    return sorted({layout.name for layout in _LAYOUTS.values()})


def get_layout(layout: "str | SkeletonLayout | Mapping") -> SkeletonLayout:
    """Resolves a layout name, config dict or `SkeletonLayout` to a layout.

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if isinstance(layout, SkeletonLayout):
        return layout
    if isinstance(layout, Mapping):
        return SkeletonLayout.from_config(layout)
    if isinstance(layout, str):
        key = layout.lower().replace("-", "").replace("_", "")
        for name, value in _LAYOUTS.items():
            if name.replace("_", "") == key:
                return value
        close = difflib.get_close_matches(layout, list(_LAYOUTS), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ValueError(
            f"Unknown layout '{layout}'. Expected one of {list_layouts()}, "
            f"or a SkeletonLayout.{hint}"
        )
    raise TypeError(
        f"`layout` must be a layout name, a SkeletonLayout or its config dict, "
        f"found {type(layout).__name__}."
    )


H36M17 = register_layout(
    SkeletonLayout(
        name="h36m17",
        joint_names=(
            "hip", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee",
            "left_ankle", "spine", "thorax", "neck_nose", "head", "left_shoulder",
            "left_elbow", "left_wrist", "right_shoulder", "right_elbow", "right_wrist",
        ),
        parents=(-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15),
        joints_left=(4, 5, 6, 11, 12, 13),
        joints_right=(1, 2, 3, 14, 15, 16),
        distal_joints=(3, 6, 10, 13, 16),
    ),
    "human36m",
)

# Human3.6M as detected by Stacked Hourglass (no neck/nose joint).
H36M16 = register_layout(
    SkeletonLayout(
        name="h36m16",
        joint_names=(
            "hip", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee",
            "left_ankle", "spine", "thorax", "head", "left_shoulder", "left_elbow",
            "left_wrist", "right_shoulder", "right_elbow", "right_wrist",
        ),
        parents=(-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 8, 10, 11, 8, 13, 14),
        joints_left=(4, 5, 6, 10, 11, 12),
        joints_right=(1, 2, 3, 13, 14, 15),
        distal_joints=(3, 6, 9, 12, 15),
    )
)

# Human3.6M with toes; ankles count as distal too, as in the official code.
H36M19 = register_layout(
    SkeletonLayout(
        name="h36m19",
        joint_names=(
            "hip", "right_hip", "right_knee", "right_ankle", "right_toe", "left_hip",
            "left_knee", "left_ankle", "left_toe", "spine", "thorax", "neck_nose", "head",
            "left_shoulder", "left_elbow", "left_wrist", "right_shoulder", "right_elbow",
            "right_wrist",
        ),
        parents=(-1, 0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 10, 13, 14, 10, 16, 17),
        joints_left=(5, 6, 7, 8, 13, 14, 15),
        joints_right=(1, 2, 3, 4, 16, 17, 18),
        distal_joints=(3, 4, 7, 8, 12, 15, 18),
    )
)

# HumanEva-I; the head (14) is a leaf but not distal in the official code.
HUMANEVA15 = register_layout(
    SkeletonLayout(
        name="humaneva15",
        joint_names=(
            "pelvis", "thorax", "left_shoulder", "left_elbow", "left_wrist",
            "right_shoulder", "right_elbow", "right_wrist", "left_hip", "left_knee",
            "left_ankle", "right_hip", "right_knee", "right_ankle", "head",
        ),
        parents=(-1, 0, 1, 2, 3, 1, 5, 6, 0, 8, 9, 0, 11, 12, 1),
        joints_left=(2, 3, 4, 8, 9, 10),
        joints_right=(5, 6, 7, 11, 12, 13),
        distal_joints=(4, 7, 10, 13),
    ),
    "humaneva",
)

# COCO-17 keypoints, rooted at the nose (COCO defines no kinematic tree).
COCO17 = register_layout(
    SkeletonLayout(
        name="coco17",
        joint_names=(
            "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
            "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
            "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
        ),
        parents=(-1, 0, 0, 1, 2, 0, 0, 5, 6, 7, 8, 5, 6, 11, 12, 13, 14),
        joints_left=(1, 3, 5, 7, 9, 11, 13, 15),
        joints_right=(2, 4, 6, 8, 10, 12, 14, 16),
        distal_joints=(3, 4, 9, 10, 15, 16),
    ),
    "coco",
)

# NTU RGB+D (Kinect v2), rooted at the spine shoulder (joint 21 in 1-based
# numbering) so that (joint, parent) are exactly ST-GCN's inward edges.
NTU25 = register_layout(
    SkeletonLayout(
        name="ntu25",
        joint_names=(
            "spine_base", "spine_mid", "neck", "head", "left_shoulder", "left_elbow",
            "left_wrist", "left_hand", "right_shoulder", "right_elbow", "right_wrist",
            "right_hand", "left_hip", "left_knee", "left_ankle", "left_foot", "right_hip",
            "right_knee", "right_ankle", "right_foot", "spine_shoulder", "left_hand_tip",
            "left_thumb", "right_hand_tip", "right_thumb",
        ),
        parents=(1, 20, 20, 2, 20, 4, 5, 6, 20, 8, 9, 10, 0, 12, 13, 14, 0, 16, 17, 18,
                 -1, 22, 7, 24, 11),
        joints_left=(4, 5, 6, 7, 12, 13, 14, 15, 21, 22),
        joints_right=(8, 9, 10, 11, 16, 17, 18, 19, 23, 24),
        distal_joints=(3, 15, 19, 21, 22, 23, 24),
    ),
    "ntu",
)

# OpenPose-18 (COCO-18) keypoints of Kinetics-Skeleton, rooted at the neck so
# that (joint, parent) are exactly ST-GCN's / ST-TR's Kinetics inward edges
# (`st_gcn/graph/kinetics.py`; the hips hang from the shoulders).
OPENPOSE18 = register_layout(
    SkeletonLayout(
        name="openpose18",
        joint_names=(
            "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder",
            "left_elbow", "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip",
            "left_knee", "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear",
        ),
        parents=(1, -1, 1, 2, 3, 1, 5, 6, 2, 8, 9, 5, 11, 12, 0, 0, 14, 15),
        joints_left=(5, 6, 7, 11, 12, 13, 15, 17),
        joints_right=(2, 3, 4, 8, 9, 10, 14, 16),
        distal_joints=(4, 7, 10, 13, 16, 17),
        # ST-TR's `ntu_gen_bones.py` 'kinetics' pairs: (0, 0), (1, 0), then the tree.
        bone_parents=(-1, 0, 1, 2, 3, 1, 5, 6, 2, 8, 9, 5, 11, 12, 0, 0, 14, 15),
    ),
    "openpose", "kinetics",
)
