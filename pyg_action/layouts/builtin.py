"""The layouts shipped with the toolkit.

Joint orders follow each dataset's own files; bones follow the official ST-GCN
graph (NTU, OpenPose), pyskl (COCO) and the MSR Action3D documentation.
"""

from __future__ import annotations

from .layout import SkeletonLayout, _one_based

NTU25 = SkeletonLayout(
    name="ntu25",
    joints=(
        "spine_base",
        "spine_mid",
        "neck",
        "head",
        "left_shoulder",
        "left_elbow",
        "left_wrist",
        "left_hand",
        "right_shoulder",
        "right_elbow",
        "right_wrist",
        "right_hand",
        "left_hip",
        "left_knee",
        "left_ankle",
        "left_foot",
        "right_hip",
        "right_knee",
        "right_ankle",
        "right_foot",
        "spine_shoulder",
        "left_hand_tip",
        "left_thumb",
        "right_hand_tip",
        "right_thumb",
    ),  # fmt: skip
    bones=_one_based(
        [
            (1, 2),
            (2, 21),
            (3, 21),
            (4, 3),
            (5, 21),
            (6, 5),
            (7, 6),
            (8, 7),
            (9, 21),
            (10, 9),
            (11, 10),
            (12, 11),
            (13, 1),
            (14, 13),
            (15, 14),
            (16, 15),
            (17, 1),
            (18, 17),
            (19, 18),
            (20, 19),
            (22, 23),
            (23, 8),
            (24, 25),
            (25, 12),
        ]
    ),  # fmt: skip
    center=20,
    description="NTU RGB+D / Kinect v2, 25 joints (centre: spine at shoulder height)",
)

OPENPOSE18 = SkeletonLayout(
    name="openpose18",
    joints=(
        "nose",
        "neck",
        "right_shoulder",
        "right_elbow",
        "right_wrist",
        "left_shoulder",
        "left_elbow",
        "left_wrist",
        "right_hip",
        "right_knee",
        "right_ankle",
        "left_hip",
        "left_knee",
        "left_ankle",
        "right_eye",
        "left_eye",
        "right_ear",
        "left_ear",
    ),  # fmt: skip
    bones=(
        (4, 3),
        (3, 2),
        (7, 6),
        (6, 5),
        (13, 12),
        (12, 11),
        (10, 9),
        (9, 8),
        (11, 5),
        (8, 2),
        (5, 1),
        (2, 1),
        (0, 1),
        (15, 0),
        (14, 0),
        (17, 15),
        (16, 14),
    ),  # fmt: skip
    center=1,
    description="OpenPose COCO-18 as in Kinetics-skeleton (centre: neck)",
)

COCO17 = SkeletonLayout(
    name="coco17",
    joints=(
        "nose",
        "left_eye",
        "right_eye",
        "left_ear",
        "right_ear",
        "left_shoulder",
        "right_shoulder",
        "left_elbow",
        "right_elbow",
        "left_wrist",
        "right_wrist",
        "left_hip",
        "right_hip",
        "left_knee",
        "right_knee",
        "left_ankle",
        "right_ankle",
    ),  # fmt: skip
    bones=(
        (15, 13),
        (13, 11),
        (16, 14),
        (14, 12),
        (11, 5),
        (12, 6),
        (9, 7),
        (7, 5),
        (10, 8),
        (8, 6),
        (5, 0),
        (6, 0),
        (1, 0),
        (3, 1),
        (2, 0),
        (4, 2),
    ),  # fmt: skip
    center=0,
    description="COCO keypoints, 17 joints (centre: nose, as pyskl)",
)

MSR20 = SkeletonLayout(
    name="msr20",
    joints=(
        "left_shoulder",
        "right_shoulder",
        "neck",
        "spine",
        "left_hip",
        "right_hip",
        "hip_center",
        "left_elbow",
        "right_elbow",
        "left_wrist",
        "right_wrist",
        "left_hand",
        "right_hand",
        "left_knee",
        "right_knee",
        "left_ankle",
        "right_ankle",
        "left_foot",
        "right_foot",
        "head",
    ),  # fmt: skip
    bones=_one_based(
        [
            (1, 3),
            (2, 3),
            (3, 4),
            (4, 7),
            (5, 7),
            (6, 7),
            (1, 8),
            (2, 9),
            (8, 10),
            (9, 11),
            (10, 12),
            (11, 13),
            (5, 14),
            (6, 15),
            (14, 16),
            (15, 17),
            (16, 18),
            (17, 19),
            (3, 20),
        ]
    ),  # fmt: skip
    center=2,
    description="Kinect v1 / MSR Action3D, 20 joints (centre: neck, i.e. shoulder centre)",
)

BUILTIN_LAYOUTS: dict[str, SkeletonLayout] = {
    layout.name: layout for layout in (NTU25, OPENPOSE18, COCO17, MSR20)
}
