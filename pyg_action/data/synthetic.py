"""SYNTHETIC skeleton actions: the built-in default data set (no download, no real people).

Every sample is *generated*, not recorded. Actions are procedural joint-angle curves driven
through forward kinematics over the ``ntu25`` bone tree (rooted at ``spine_base``), so the
output has the shape, joint order and units (metres, Kinect camera frame: x, y up, z depth)
of NTU RGB+D ``.skeleton`` data. Variation comes from

* per-subject bone lengths (10 subjects by default: a body scale and per-bone factors),
* amplitude, tempo (a random monotone time warp), number of repetitions and idle margins,
* a random camera: yaw of the view (+-45 degrees), pitch, distance and offset,
* Gaussian joint noise, and lengths of 40-120 frames,
* one or two persons: the interactions always have two, and some one-person samples get a
  standing bystander as a second person (so the number of persons alone does not give the
  class away).

The class names all start with ``synthetic_`` and :func:`synthetic_dataset` reports
``DatasetInfo.synthetic = True`` so generated results are never mistaken for real ones.
Generation is deterministic in ``(seed, index)``: sample ``i`` is the same whatever
``num_samples`` is. About 1000 samples take a couple of seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from ..layouts import NTU25, SkeletonLayout
from ..sequence import SkeletonSequence
from .split_names import ALL, TEST, requested_split

__all__ = [
    "SYNTHETIC_CLASSES",
    "SYNTHETIC_LAYOUT",
    "generate_sample",
    "make_synthetic",
    "synthetic_split",
]

SYNTHETIC_LAYOUT: SkeletonLayout = NTU25

#: Class names, in label order. Every one says ``synthetic``.
SYNTHETIC_CLASSES: tuple[str, ...] = (
    "synthetic_wave_right_hand",
    "synthetic_wave_both_hands",
    "synthetic_punch_right",
    "synthetic_kick_right",
    "synthetic_squat",
    "synthetic_jump",
    "synthetic_bow",
    "synthetic_turn_around",
    "synthetic_clap",
    "synthetic_crouch_down",
    "synthetic_stand_up",
    "synthetic_handshake",
    "synthetic_approach",
    "synthetic_walk_apart",
)
_TWO_PERSON = {"synthetic_handshake", "synthetic_approach", "synthetic_walk_apart"}
_GLITCH_JOINTS = ("left_hand", "right_hand", "left_foot", "right_foot", "left_hand_tip", "head")

# Rest pose (standing, arms hanging) of a 1.75 m person in the body frame:
# x = the person's left, y = up, z = forward. Metres.
_REST = {
    "spine_base": (0.0, 0.95, 0.0),
    "spine_mid": (0.0, 1.20, -0.01),
    "spine_shoulder": (0.0, 1.42, -0.01),
    "neck": (0.0, 1.50, 0.0),
    "head": (0.0, 1.64, 0.02),
    "left_shoulder": (0.18, 1.40, -0.01),
    "left_elbow": (0.20, 1.12, -0.02),
    "left_wrist": (0.21, 0.87, 0.0),
    "left_hand": (0.21, 0.80, 0.01),
    "left_thumb": (0.19, 0.78, 0.05),
    "left_hand_tip": (0.21, 0.71, 0.02),
    "left_hip": (0.09, 0.93, 0.0),
    "left_knee": (0.10, 0.52, 0.01),
    "left_ankle": (0.10, 0.10, -0.02),
    "left_foot": (0.10, 0.04, 0.10),
}
for _name, (_x, _y, _z) in list(_REST.items()):
    if _name.startswith("left_"):
        _REST["right_" + _name[5:]] = (-_x, _y, _z)


@dataclass(frozen=True)
class _Tree:
    """The layout's bones as a tree rooted at ``spine_base``, in breadth-first order."""

    order: tuple[int, ...]
    parent: tuple[int, ...]
    offset: np.ndarray  # (V, 3) child minus parent at rest
    mirror: np.ndarray  # (V,) index of the left/right mirrored joint


@lru_cache(maxsize=1)
def _tree() -> _Tree:
    layout = SYNTHETIC_LAYOUT
    root = layout.joint_index("spine_base")
    adjacency: list[list[int]] = [[] for _ in layout.joints]
    for a, b in layout.bones:
        adjacency[a].append(b)
        adjacency[b].append(a)
    parent = [-1] * layout.num_joints
    parent[root] = root
    order = [root]
    for node in order:
        for nxt in adjacency[node]:
            if parent[nxt] == -1:
                parent[nxt] = node
                order.append(nxt)
    rest = np.array([_REST[name] for name in layout.joints])
    offset = rest - rest[parent]
    offset[root] = rest[root]
    mirror = []
    for name in layout.joints:
        other = name.replace("left_", "@").replace("right_", "left_").replace("@", "right_")
        mirror.append(layout.joint_index(other))
    return _Tree(tuple(order), tuple(parent), offset, np.array(mirror))


def _j(name: str) -> int:
    return SYNTHETIC_LAYOUT.joint_index(name)


# ----------------------------------------------------------------------------- rotations


def _rot(axis: int, angle: np.ndarray) -> np.ndarray:
    """``(T, 3, 3)`` rotations by ``angle`` (radians, ``(T,)``) about axis 0, 1 or 2."""
    c, s = np.cos(angle), np.sin(angle)
    out = np.zeros((angle.shape[0], 3, 3))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    out[:, axis, axis] = 1.0
    out[:, i, i] = c
    out[:, j, j] = c
    out[:, i, j] = -s
    out[:, j, i] = s
    return out


def _chain(*rotations: np.ndarray) -> np.ndarray:
    out = rotations[0]
    for r in rotations[1:]:
        out = out @ r
    return out


def _deg(a: np.ndarray | float) -> np.ndarray:
    return np.radians(a)


# A bone rotation is attached to the child joint and turns that bone and everything below it.
# Conventions (body frame x left, y up, z forward; limbs hang along -y at rest):
#   raise forward (arm or leg):     Rx(-a)         knee bend (shin backwards): Rx(+a)
#   left arm sideways (abduction):  Rz(+a)         right arm sideways:         Rz(-a)
#   trunk bow forward:              Rx(+a)         turn (yaw):                 Ry(a)


def _arm(side: str, forward, sideways, inward, elbow, T: int) -> dict[int, np.ndarray]:
    """Rotations of one arm from angles in degrees (scalars or ``(T,)``)."""
    sign = 1.0 if side == "left" else -1.0
    full = [
        np.broadcast_to(np.asarray(a, dtype=float), (T,))
        for a in (forward, sideways, inward, elbow)
    ]
    forward, sideways, inward, elbow = (_deg(a) for a in full)
    shoulder = _chain(_rot(1, -sign * inward), _rot(2, sign * sideways), _rot(0, -forward))
    return {_j(f"{side}_elbow"): shoulder, _j(f"{side}_wrist"): _rot(0, -elbow)}


def _leg(side: str, hip, knee, T: int) -> dict[int, np.ndarray]:
    hip = _deg(np.broadcast_to(np.asarray(hip, dtype=float), (T,)))
    knee = _deg(np.broadcast_to(np.asarray(knee, dtype=float), (T,)))
    return {_j(f"{side}_knee"): _rot(0, -hip), _j(f"{side}_ankle"): _rot(0, knee)}


def _trunk(bow, T: int) -> dict[int, np.ndarray]:
    bow = _deg(np.broadcast_to(np.asarray(bow, dtype=float), (T,)))
    return {_j("spine_mid"): _rot(0, 0.6 * bow), _j("spine_shoulder"): _rot(0, 0.4 * bow)}


# ----------------------------------------------------------------------------- actions


@dataclass
class _Motion:
    """Per-frame pose of one person in its body frame."""

    bones: dict[int, np.ndarray]
    yaw: np.ndarray  # (T,) radians, turning about the vertical
    lift: np.ndarray  # (T,) metres above the ground
    forward: np.ndarray  # (T,) metres walked along the initial facing direction


def _envelope(u: np.ndarray, start: float, stop: float, ramp: float = 0.15) -> np.ndarray:
    """0 before ``start``, smooth rise, 1, smooth fall, 0 after ``stop``."""
    width = max(stop - start, 1e-3)
    r = ramp * width
    rise = np.clip((u - start) / r, 0, 1)
    fall = np.clip((stop - u) / r, 0, 1)
    s = np.minimum(rise, fall)
    return s * s * (3 - 2 * s)


def _phase(u: np.ndarray, start: float, stop: float) -> np.ndarray:
    return np.clip((u - start) / max(stop - start, 1e-3), 0, 1)


def _window(rng: np.random.Generator) -> tuple[float, float]:
    """Where the action happens inside the clip: 45-100 % of it, the rest is idle."""
    width = rng.uniform(0.45, 1.0)
    start = rng.uniform(0.0, 1.0 - width)
    return start, start + width


def _idle(T: int, rng: np.random.Generator, u: np.ndarray) -> dict[int, np.ndarray]:
    """Standing with a little sway; sometimes one arm makes an unrelated gesture."""
    sway = rng.uniform(1, 4) * np.sin(2 * np.pi * (rng.uniform(0.3, 1.0) * u + rng.random()))
    bones: dict[int, np.ndarray] = {}
    for side in ("left", "right"):
        forward: Any = rng.uniform(-5, 10)
        sideways: Any = rng.uniform(3, 12)
        elbow: Any = rng.uniform(5, 25)
        if rng.random() < 0.25:  # distractor: scratch, reach or point for a while
            start, stop = _window(rng)
            bump = _envelope(u, start, min(stop, start + 0.5))
            forward = forward + bump * rng.uniform(20, 80)
            sideways = sideways + bump * rng.uniform(0, 40)
            elbow = elbow + bump * rng.uniform(0, 110)
        bones.update(_arm(side, forward, sideways, 0, elbow, T))
    bones.update(_trunk(sway, T))
    return bones


def _act(label: str, T: int, u: np.ndarray, rng: np.random.Generator, amp: float) -> _Motion:
    """Joint-angle curves of one action (the first person of an interaction)."""
    a, b = _window(rng)
    env = _envelope(u, a, b)
    ph = _phase(u, a, b)
    reps = rng.uniform(2.0, 4.0)
    osc = np.sin(2 * np.pi * reps * ph)
    bones = _idle(T, rng, u)
    yaw = np.zeros(T)
    lift = np.zeros(T)
    forward = np.zeros(T)
    if label == "synthetic_wave_right_hand":
        bones.update(_arm("right", 20 * env, amp * 140 * env, 0, env * (45 + 30 * osc), T))
    elif label == "synthetic_wave_both_hands":
        shift = rng.uniform(0, 0.5)
        osc2 = np.sin(2 * np.pi * (reps * ph + shift))
        bones.update(_arm("right", 15 * env, amp * 145 * env + 12 * env * osc, 0, env * 40, T))
        bones.update(_arm("left", 15 * env, amp * 145 * env + 12 * env * osc2, 0, env * 40, T))
    elif label == "synthetic_punch_right":
        jab = 0.5 + 0.5 * np.cos(2 * np.pi * reps * ph)  # 1 = retracted, 0 = extended
        bones.update(_arm("right", amp * 80 * env, 5, 10 * env, env * (10 + 110 * jab), T))
        bones.update(_arm("left", 45 * env, 5, 15 * env, env * 110, T))
        bones.update(_trunk(8 * env * (1 - jab), T))
    elif label == "synthetic_kick_right":
        kicks = max(1, int(reps - 1))
        pulse = np.sin(np.pi * kicks * ph) ** 2 * env
        bones.update(_leg("right", amp * 70 * pulse, 70 * pulse * (1 - pulse) * 2, T))
        bones.update(_arm("left", 10, 25 * env, 0, 30, T))
        bones.update(_arm("right", 10, 25 * env, 0, 30, T))
        bones.update(_trunk(-8 * pulse, T))
    elif label == "synthetic_squat":
        reps_int = max(1, int(reps - 1))
        depth = amp * np.sin(np.pi * reps_int * ph) ** 2 * env
        for side in ("left", "right"):
            bones.update(_leg(side, 95 * depth, 120 * depth, T))
            bones.update(_arm(side, 75 * depth, 5, 0, 10, T))
        bones.update(_trunk(30 * depth, T))
    elif label == "synthetic_jump":
        jumps = max(1, int(reps - 1))
        cycle = (jumps * ph) % 1.0
        crouch = np.where(cycle < 0.4, np.sin(np.pi * cycle / 0.4), 0.0) * env
        flight = np.where(cycle >= 0.4, np.sin(np.pi * (cycle - 0.4) / 0.6), 0.0) * env
        for side in ("left", "right"):
            bones.update(_leg(side, 50 * crouch + 10 * flight, 80 * crouch + 20 * flight, T))
            bones.update(_arm(side, -30 * crouch + amp * 150 * flight, 10, 0, 20, T))
        bones.update(_trunk(25 * crouch, T))
        lift = amp * rng.uniform(0.15, 0.3) * flight
    elif label == "synthetic_bow":
        bows = max(1, int(reps - 1.5))
        depth = np.sin(np.pi * bows * ph) ** 2 * env
        bones.update(_trunk(amp * 70 * depth, T))
        bones.update(_arm("left", 10 * depth, 5, 0, 10, T))
        bones.update(_arm("right", 10 * depth, 5, 0, 10, T))
    elif label == "synthetic_turn_around":
        total = rng.choice([-1.0, 1.0]) * amp * rng.uniform(150, 270)
        s = ph * ph * (3 - 2 * ph)
        yaw = _deg(total * s)
        step = np.sin(2 * np.pi * 2 * reps * ph) * env
        bones.update(_leg("left", 20 * np.clip(step, 0, None), 35 * np.clip(step, 0, None), T))
        bones.update(_leg("right", 20 * np.clip(-step, 0, None), 35 * np.clip(-step, 0, None), T))
    elif label == "synthetic_clap":
        beat = 0.5 + 0.5 * np.cos(2 * np.pi * 1.5 * reps * ph)  # 1 = hands together
        for side in ("left", "right"):
            bones.update(_arm(side, amp * 65 * env, 10 * env, env * (10 + 45 * beat), 55 * env, T))
    elif label in ("synthetic_crouch_down", "synthetic_stand_up"):
        # one transition that then holds; the two classes are time reversals of each other
        depth = ph * ph * (3 - 2 * ph)
        if label == "synthetic_stand_up":
            depth = 1.0 - depth
        for side in ("left", "right"):
            bones.update(_leg(side, amp * 85 * depth, amp * 115 * depth, T))
            bones.update(_arm(side, 45 * depth, 8, 0, 30 * depth, T))
        bones.update(_trunk(25 * depth, T))
    elif label in _TWO_PERSON:
        pass  # handled with the partner in _interaction
    else:  # pragma: no cover - guarded by SYNTHETIC_CLASSES
        raise ValueError(label)
    return _Motion(bones, yaw, lift, forward)


def _walk(
    T: int, u: np.ndarray, rng: np.random.Generator, distance: float, start: float, stop: float
) -> _Motion:
    env = _envelope(u, start, stop, ramp=0.1)
    ph = _phase(u, start, stop)
    steps = rng.uniform(2.5, 4.0)
    gait = np.sin(2 * np.pi * steps * ph) * env
    bones = _idle(T, rng, u)
    bones.update(_leg("left", 25 * gait, 30 * np.clip(gait, 0, None), T))
    bones.update(_leg("right", -25 * gait, 30 * np.clip(-gait, 0, None), T))
    bones.update(_arm("left", -20 * gait, 8, 0, 20, T))
    bones.update(_arm("right", 20 * gait, 8, 0, 20, T))
    s = ph * ph * (3 - 2 * ph)
    return _Motion(bones, np.zeros(T), np.zeros(T), distance * s)


def _interaction(label: str, T: int, u: np.ndarray, rng: np.random.Generator, amp: float):
    """Two motions, their initial distance and whether each person faces away from the other."""
    if label == "synthetic_handshake":
        distance = rng.uniform(0.75, 0.95)
        a, b = _window(rng)
        env = _envelope(u, a, b)
        shake = np.sin(2 * np.pi * rng.uniform(3, 5) * _phase(u, a, b)) * env
        motions = []
        for _ in range(2):
            bones = _idle(T, rng, u)
            bones.update(
                _arm("right", amp * 50 * env + 6 * shake, 5, 20 * env, 35 * env - 6 * shake, T)
            )
            bones.update(_trunk(8 * env, T))
            motions.append(_Motion(bones, np.zeros(T), np.zeros(T), np.zeros(T)))
        return motions, distance, [False, False]
    apart = label == "synthetic_walk_apart"
    distance = rng.uniform(0.8, 1.2) if apart else rng.uniform(2.6, 3.4)
    walker = _walk(T, u, rng, amp * rng.uniform(1.4, 1.9), *_window(rng))
    away = [apart, apart]
    if rng.random() < 0.5:
        other = _Motion(_idle(T, rng, u), np.zeros(T), np.zeros(T), np.zeros(T))
        away[1] = False
    else:  # both walk
        walker.forward *= 0.6
        other = _walk(T, u, rng, amp * rng.uniform(0.5, 0.8), *_window(rng))
    if rng.random() < 0.5:
        return [walker, other], distance, away
    return [other, walker], distance, away[::-1]


# ----------------------------------------------------------------------------- kinematics


def _forward_kinematics(motion: _Motion, lengths: np.ndarray) -> np.ndarray:
    """Joint positions ``(T, V, 3)`` in the person's ground frame (feet on the floor)."""
    tree = _tree()
    T = motion.yaw.shape[0]
    offset = tree.offset * lengths[:, None]
    glob: list[np.ndarray | None] = [None] * len(tree.parent)
    pos = np.zeros((T, len(tree.parent), 3))
    root = tree.order[0]
    glob[root] = _rot(1, motion.yaw)
    pos[:, root] = np.array([0.0, offset[root, 1], 0.0])
    for joint in tree.order[1:]:
        parent = tree.parent[joint]
        rotation = glob[parent]
        local = motion.bones.get(joint)
        if local is not None:
            rotation = rotation @ local
        glob[joint] = rotation
        pos[:, joint] = pos[:, parent] + rotation @ offset[joint]
    feet = [_j(n) for n in ("left_ankle", "right_ankle", "left_foot", "right_foot")]
    ground = pos[:, feet, 1].min(axis=1) - 0.04 * lengths[feet].mean()
    pos[:, :, 1] -= ground[:, None]
    pos[:, :, 1] += motion.lift[:, None]
    pos[:, :, 2] += motion.forward[:, None]  # walking: along the initial facing direction
    return pos


def _subject_lengths(seed: int, subject: int) -> np.ndarray:
    """Per-joint scale of the bone ending at that joint, mirrored left/right."""
    rng = np.random.default_rng([seed, 7919, subject])
    tree = _tree()
    scale = rng.uniform(0.88, 1.12)
    factors = rng.uniform(0.92, 1.08, size=len(tree.parent))
    factors = 0.5 * (factors + factors[tree.mirror])
    return scale * factors


def _place(pos: np.ndarray, yaw: float, x: float, z: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    rotation = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return pos @ rotation.T + np.array([x, 0.0, z])


def _camera(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """World (y up, persons near the origin facing -z) to Kinect-like camera coordinates."""
    view = np.radians(rng.uniform(-50, 50))
    pitch = np.radians(rng.uniform(-10, 10))
    roll = np.radians(rng.uniform(-3, 3))
    c, s = np.cos(view), np.sin(view)
    ry = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    c, s = np.cos(pitch), np.sin(pitch)
    rx = np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    c, s = np.cos(roll), np.sin(roll)
    rz = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    # camera ~3 m in front of the persons, ~1 m above the floor
    shift = np.array([rng.uniform(-0.4, 0.4), rng.uniform(-1.2, -0.7), rng.uniform(2.8, 4.0)])
    return rz @ rx @ ry, shift


def generate_sample(
    index: int,
    seed: int = 0,
    *,
    num_subjects: int = 10,
    min_frames: int = 40,
    max_frames: int = 120,
    noise: float = 0.015,
    bystander_prob: float = 0.15,
    glitch_prob: float = 0.3,
    classes: tuple[str, ...] = SYNTHETIC_CLASSES,
) -> SkeletonSequence:
    """Sample ``index`` of the synthetic set for ``seed`` (label ``index % len(classes)``)."""
    rng = np.random.default_rng([seed, index])
    label = index % len(classes)
    name = classes[label]
    subject = int(rng.integers(1, num_subjects + 1))
    T = int(rng.integers(min_frames, max_frames + 1))
    s = np.linspace(0.0, 1.0, T)
    warp = rng.uniform(-0.6, 0.6)
    u = s + warp * np.sin(2 * np.pi * s) / (2 * np.pi)  # monotone tempo variation
    amp = rng.uniform(0.6, 1.2)
    lengths = _subject_lengths(seed, subject)

    persons: list[np.ndarray] = []
    if name in _TWO_PERSON:
        motions, distance, away = _interaction(name, T, u, rng, amp)
        partner = int(rng.integers(1, num_subjects + 1))
        first = _forward_kinematics(motions[0], lengths)
        second = _forward_kinematics(motions[1], _subject_lengths(seed, partner))
        offset = rng.uniform(-0.1, 0.1)
        # person 1 faces +x, person 2 faces -x; both seen side-on from the camera at -z
        persons.append(_place(first, np.pi / 2 + np.pi * away[0], -distance / 2, offset))
        persons.append(_place(second, -np.pi / 2 + np.pi * away[1], distance / 2, -offset))
    else:
        motion = _act(name, T, u, rng, amp)
        facing = np.pi + np.radians(rng.uniform(-25, 25))
        persons.append(_place(_forward_kinematics(motion, lengths), facing, 0.0, 0.0))
        if rng.random() < bystander_prob:
            idle = _Motion(_idle(T, rng, u), np.zeros(T), np.zeros(T), np.zeros(T))
            other = int(rng.integers(1, num_subjects + 1))
            side = rng.choice([-1.0, 1.0]) * rng.uniform(1.0, 1.6)
            bystander = _forward_kinematics(idle, _subject_lengths(seed, other))
            persons.append(
                _place(bystander, np.pi + rng.uniform(-0.5, 0.5), side, rng.uniform(0.3, 1.0))
            )
    rotation, shift = _camera(rng)
    # the camera looks along +z (world) at persons facing -z: x is the camera's left, y up,
    # z the depth, as in Kinect camera space
    stacked = np.stack(persons, axis=-1)  # (T, V, 3, M)
    cam = np.matmul(rotation, stacked) + shift[None, None, :, None]
    cam += rng.normal(0.0, noise, size=cam.shape)
    if rng.random() < glitch_prob:  # tracking glitches: an end joint jumps for a few frames
        for _ in range(int(rng.integers(1, 4))):
            joint = _j(str(rng.choice(_GLITCH_JOINTS)))
            start = int(rng.integers(0, T))
            stop = min(T, start + int(rng.integers(2, 8)))
            cam[start:stop, joint, :, 0] += rng.normal(0.0, 0.12, size=3)
    data = np.ascontiguousarray(cam.transpose(2, 0, 1, 3), dtype=np.float32)  # (3, T, V, M)
    return SkeletonSequence(
        data=data,
        label=label,
        layout=SYNTHETIC_LAYOUT.name,
        name=f"synthetic_{seed}_{index:06d}_{name[len('synthetic_') :]}",
        meta={
            "synthetic": True,
            "subject": subject,
            "seed": seed,
            "index": index,
            "class_name": name,
        },
    )


def make_synthetic(
    num_samples: int = 1000,
    seed: int = 0,
    *,
    progress: Callable[[int], None] | None = None,
    **options,
) -> list[SkeletonSequence]:
    """``num_samples`` SYNTHETIC sequences (balanced classes; see :func:`generate_sample`)."""
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")
    out = []
    for index in range(num_samples):
        out.append(generate_sample(index, seed, **options))
        if progress is not None:
            progress(index)
    return out


def synthetic_split(
    samples: list[SkeletonSequence], split: str, test_subjects=(8, 9, 10)
) -> list[int]:
    """Cross-subject split of synthetic samples: subjects 8-10 test, the others train."""
    if split is None or requested_split(split) == ALL:
        return list(range(len(samples)))
    test = set(test_subjects)
    want_test = requested_split(split) == TEST
    return [i for i, s in enumerate(samples) if (s.meta["subject"] in test) == want_test]
