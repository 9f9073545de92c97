"""Batched forms of the transforms, run on whole batches on the training device.

With ``train.device_data`` a split's samples live on the training device
(:class:`~pyg_action.data.device_split.DeviceSplit`) and the steps of the pipeline after its
deterministic head run there on a whole batch at once. A batch is a :class:`Clips`: ``x`` of
shape ``(B, C, T, V, M)`` whose frames ``t >= frames[b]`` are padding (their values are
unspecified and never read), with the frame counts on the device and on the host. Every form
below is a few tensor operations over the batch, draws its random numbers from
``draw(shape)`` (uniform in ``[0, 1)``, float64, on the device) and reads nothing back to the
host, so batches are built without waiting for the device.

For the same uniform draws each form returns what its numpy step returns for every sample
(the numpy step takes them from ``rng`` in this order; ``tests/data/test_batched_transforms.py``
feeds both the same numbers):

* ``uniform_sample``: ``L`` numbers per sample, the offsets inside the ``L`` segments
  (:func:`~pyg_action.data.transforms.uniform_sample_indices`, or
  :func:`~pyg_action.data.transforms.uniform_sample_positions` with ``interpolate``);
* ``random_rotate``: one angle per axis whose limit ``a`` is not zero, ``-a + 2 a u`` degrees
  (x, y, z in that order);
* ``random_scale``: ``coords`` factors per sample (one with ``per_axis=False``),
  ``(1 - s) + 2 s u``;
* ``random_shear``: ``coords (coords - 1)`` numbers per sample, the off-diagonal entries of
  its shear in row-major order, ``-s + 2 s u``;
* ``random_jitter``: ``2 * coords * T * V * M`` numbers per sample, the Box-Muller pairs of
  its Gaussian noise; all clips of the batch must have ``T`` frames (after ``uniform_sample``)
  and ``M`` persons, since a smaller sample's numpy step would draw fewer;
* ``random_lost_frames``: three numbers per sample, whether, how long and where
  (:func:`~pyg_action.data.transforms.lost_frame_mask`);
* ``streams``, ``bone``, ``motion``, ``normalize`` draw nothing.

:class:`~pyg_action.data.device_split.DeviceSplit` draws those numbers from each sample's own
numpy generator, so its batches are the DataLoader's.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from .transforms import (
    Bone,
    Motion,
    Normalize,
    RandomJitter,
    RandomLostFrames,
    RandomRotate,
    RandomScale,
    RandomShear,
    Streams,
    Transform,
    UniformSample,
)
from .transforms.spatial import off_diagonal_positions
from .transforms.streams import MIN_LENGTH

__all__ = ["BatchedStep", "Clips", "Draw", "batched_step", "batched_steps"]

#: ``draw(shape)``: uniform numbers in ``[0, 1)``, float64, on the batch's device.
Draw = Callable[[tuple[int, ...]], Tensor]


@dataclass(frozen=True)
class Clips:
    """A batch of clips: ``x`` ``(B, C, T, V, M)``, valid up to ``frames[b]`` frames and
    ``host_persons[b]`` persons each.

    ``host_frames`` holds the same counts as ``frames``, on the host: what the batch's graph
    structure is built from without reading the device.
    """

    x: Tensor
    frames: Tensor
    host_frames: tuple[int, ...]
    host_persons: tuple[int, ...]

    def with_x(self, x: Tensor) -> Clips:
        return Clips(x, self.frames, self.host_frames, self.host_persons)


#: One step on a batch: ``step(clips, draw) -> clips``.
BatchedStep = Callable[[Clips, Draw], Clips]


class _Constants:
    """A step's constant tensors, copied to each device they are used on once (not with
    every batch)."""

    def __init__(self, **host: Tensor) -> None:
        self._host = host
        self._placed: dict[torch.device, dict[str, Tensor]] = {}

    def on(self, device: torch.device) -> dict[str, Tensor]:
        if device not in self._placed:
            self._placed[device] = {name: t.to(device) for name, t in self._host.items()}
        return self._placed[device]


def _coords(step: Transform, channels: int) -> int:
    """The coordinate channels a geometric step acts on (as the numpy step counts them)."""
    coords = getattr(step, "coords", None)
    if coords is None:
        return min(3, channels)
    if not 1 <= coords <= channels:
        raise ValueError(f"{step!r}: coords={coords} but the samples have {channels} channels")
    return int(coords)


def _replace_coords(x: Tensor, coords: int, values: Tensor) -> Tensor:
    """``x`` with its first ``coords`` channels replaced by ``values`` (other channels kept)."""
    if coords == x.shape[1]:
        return values.to(x.dtype)
    return torch.cat([values.to(x.dtype), x[:, coords:]], dim=1)


# ----------------------------------------------------------------------------- temporal


def _frames_at(x: Tensor, index: Tensor) -> Tensor:
    """``x`` ``(B, C, T, V, M)`` at frames ``index`` ``(B, L)`` -> ``(B, C, L, V, M)``."""
    batch, channels, _, joints, persons = x.shape
    length = index.shape[1]
    gather = index.view(batch, 1, length, 1, 1).expand(batch, channels, length, joints, persons)
    return torch.gather(x, 2, gather)


def _part_points(count: Tensor, steps: Tensor, u: Tensor | None) -> Tensor:
    """``(i + u) T / L`` ``(B, L)``, float64: the point ``u`` (0.5 at test time) of each of
    the ``L`` equal parts of clips of ``count`` ``(B, 1)`` frames, in frames."""
    return (steps.double() + (0.5 if u is None else u)) * count.double() / steps.numel()


def _interpolated(x: Tensor, count: Tensor, steps: Tensor, u: Tensor | None) -> Tensor:
    """``uniform_sample`` with ``interpolate``: ``x`` read at the fractional positions of
    :func:`~pyg_action.data.transforms.uniform_sample_positions`, blended only between frames
    where the person is present in both (else the nearer frame)."""
    batch, persons, length = x.shape[0], x.shape[4], steps.numel()
    position = _part_points(count, steps, u) - 0.5
    position = torch.minimum(position.clamp_min(0.0), (count - 1).double())  # (B, L)
    low = position.floor().long()
    high = torch.minimum(low + 1, count - 1)
    weight = position - low.double()
    present = x.ne(0).any(dim=3).any(dim=1)  # (B, T, M)
    blend = present.gather(1, low.unsqueeze(-1).expand(-1, -1, persons)) & present.gather(
        1, high.unsqueeze(-1).expand(-1, -1, persons)
    )  # (B, L, M)
    nearest = (weight >= 0.5).double().unsqueeze(-1)
    w = torch.where(blend, weight.unsqueeze(-1), nearest).view(batch, 1, length, 1, persons)
    return ((1.0 - w) * _frames_at(x, low) + w * _frames_at(x, high)).to(x.dtype)


def _sampled_indices(count: Tensor, steps: Tensor, u: Tensor | None) -> Tensor:
    """``uniform_sample``'s whole frames ``(B, L)`` for clips of ``count`` ``(B, 1)`` frames
    (:func:`~pyg_action.data.transforms.uniform_sample_indices`)."""
    length = steps.numel()
    # T >= L: one frame of each segment [floor(i T / L), floor((i + 1) T / L))
    start = steps * count // length
    size = (steps + 1) * count // length - start
    offset = size // 2 if u is None else torch.floor(u * size).long()
    segment_frame = start + torch.minimum(offset, size - 1)
    # T < L: frame floor((i + u) T / L), repeating frames
    stretched = torch.floor(_part_points(count, steps, u)).long()
    stretched = torch.minimum(stretched.clamp_min(0), count - 1)
    return torch.where(count >= length, segment_frame, stretched)


def _uniform_sample(step: UniformSample) -> BatchedStep:
    length = step.length

    def apply(clips: Clips, draw: Draw) -> Clips:
        x, frames = clips.x, clips.frames
        count = frames.view(-1, 1)  # (B, 1)
        steps = torch.arange(length, device=x.device)
        u = draw((x.shape[0], length)) if step.mode == "train" else None
        if step.interpolate:
            sampled = _interpolated(x, count, steps, u)
        else:
            sampled = _frames_at(x, _sampled_indices(count, steps, u))
        full = torch.full_like(frames, length)
        return Clips(sampled, full, (length,) * x.shape[0], clips.host_persons)

    return apply


def _random_lost_frames(step: RandomLostFrames) -> BatchedStep:
    low, high = step.span

    def apply(clips: Clips, draw: Draw) -> Clips:
        x = clips.x
        u = draw((x.shape[0], 3))
        frames = clips.frames.double().view(-1, 1)
        count = torch.floor((low + (high - low) * u[:, 1:2]) * frames)
        first = torch.floor(u[:, 2:] * (frames + count - 1)) - count + 1
        steps = torch.arange(x.shape[2], device=x.device).view(1, -1)
        lost = (u[:, :1] < step.p) & (steps >= first) & (steps < first + count)  # (B, T)
        return clips.with_x(x.masked_fill(lost.view(x.shape[0], 1, -1, 1, 1), 0.0))

    return apply


# ----------------------------------------------------------------------------- geometric


#: Rotation about the x, y and z axes as ``fixed + cos(a) * COS + sin(a) * SIN``:
#: ``_AXIS_PARTS[k][axis]`` for k = fixed part, cosine positions, signed sine positions.
_AXIS_PARTS = (
    (  # fixed
        [[1, 0, 0], [0, 0, 0], [0, 0, 0]],
        [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
        [[0, 0, 0], [0, 0, 0], [0, 0, 1]],
    ),
    (  # cosine
        [[0, 0, 0], [0, 1, 0], [0, 0, 1]],
        [[1, 0, 0], [0, 0, 0], [0, 0, 1]],
        [[1, 0, 0], [0, 1, 0], [0, 0, 0]],
    ),
    (  # sine
        [[0, 0, 0], [0, 0, -1], [0, 1, 0]],
        [[0, 0, 1], [0, 0, 0], [-1, 0, 0]],
        [[0, -1, 0], [1, 0, 0], [0, 0, 0]],
    ),
)


def _axis_rotations(radians: Tensor, parts: Tensor) -> Tensor:
    """``(B, 3, 3, 3)``: per sample, the rotations ``Rx, Ry, Rz`` by its three angles
    ``radians`` ``(B, 3)`` (``parts``: :data:`_AXIS_PARTS` as a tensor)."""
    angle = radians.view(-1, 3, 1, 1)
    return parts[0] + angle.cos() * parts[1] + angle.sin() * parts[2]


def _random_rotate(step: RandomRotate) -> BatchedStep:
    active = [axis for axis, limit in enumerate(step.angles) if limit > 0]
    constants = _Constants(
        active=torch.tensor(active, dtype=torch.long),  # numpy draws no angle for the others
        limits=torch.tensor([step.angles[axis] for axis in active], dtype=torch.float64),
        parts=torch.tensor(_AXIS_PARTS, dtype=torch.float64),
    )

    def apply(clips: Clips, draw: Draw) -> Clips:
        x = clips.x
        coords = _coords(step, x.shape[1])
        const = constants.on(x.device)
        degrees = torch.zeros(x.shape[0], 3, dtype=torch.float64, device=x.device)
        if active:
            limits = const["limits"]
            degrees[:, const["active"]] = -limits + (2 * limits) * draw((x.shape[0], len(active)))
        axes = _axis_rotations(degrees * (math.pi / 180), const["parts"])
        if coords >= 3:  # Rz @ Ry @ Rx, as rotation_matrix multiplies them
            matrices, coords = axes[:, 2] @ axes[:, 1] @ axes[:, 0], 3
        elif coords == 2:
            matrices = axes[:, 2, :2, :2]
        else:
            return clips
        rotated = torch.einsum("bij,bjtvm->bitvm", matrices, x[:, :coords].double())
        return clips.with_x(_replace_coords(x, coords, rotated))

    return apply


def _random_scale(step: RandomScale) -> BatchedStep:
    low, high = 1 - step.scale, 1 + step.scale

    def apply(clips: Clips, draw: Draw) -> Clips:
        x = clips.x
        coords = _coords(step, x.shape[1])
        factors = low + (high - low) * draw((x.shape[0], coords if step.per_axis else 1))
        scaled = x[:, :coords].double() * factors.view(x.shape[0], -1, 1, 1, 1)
        return clips.with_x(_replace_coords(x, coords, scaled))

    return apply


def _random_shear(step: RandomShear) -> BatchedStep:
    # the coordinate counts the step can meet (its own, or min(3, channels)), as long indices:
    # a boolean mask would be read back to the host
    counts = [step.coords] if step.coords is not None else [1, 2, 3]
    constants = _Constants(
        **{f"off_diagonal{c}": torch.from_numpy(off_diagonal_positions(c)) for c in counts}
    )

    def apply(clips: Clips, draw: Draw) -> Clips:
        x = clips.x
        batch, coords = x.shape[0], _coords(step, x.shape[1])
        positions = constants.on(x.device)[f"off_diagonal{coords}"]
        offsets = -step.shear + (2 * step.shear) * draw((batch, coords * (coords - 1)))
        identity = torch.eye(coords, dtype=torch.float64, device=x.device).view(1, -1)
        flat = identity.expand(batch, -1).index_copy(1, positions, offsets)
        sheared = torch.einsum(
            "bij,bjtvm->bitvm", flat.view(batch, coords, coords), x[:, :coords].double()
        )
        return clips.with_x(_replace_coords(x, coords, sheared))

    return apply


def _random_jitter(step: RandomJitter) -> BatchedStep:
    def apply(clips: Clips, draw: Draw) -> Clips:
        x = clips.x
        batch, channels, frames, joints, persons = x.shape
        if set(clips.host_frames) != {frames} or set(clips.host_persons) != {persons}:
            raise ValueError(
                f"random_jitter on a batch needs clips of one length and person count (put it "
                f"after uniform_sample; the numpy step draws per frame and person); got frame "
                f"counts {sorted(set(clips.host_frames))}, person counts "
                f"{sorted(set(clips.host_persons))}"
            )
        coords = _coords(step, channels)
        u = draw((batch, 2 * coords * frames * joints * persons))
        u = u.view(batch, 2, coords, frames, joints, persons)
        radius = torch.sqrt(-2.0 * torch.log1p(-u[:, 0]))
        noise = step.sigma * radius * torch.cos((2.0 * math.pi) * u[:, 1])
        present = (x != 0).any(dim=1, keepdim=True).any(dim=3, keepdim=True)  # (B, 1, T, 1, M)
        jittered = x[:, :coords].double() + noise * present
        return clips.with_x(_replace_coords(x, coords, jittered))

    return apply


# ----------------------------------------------------------------------------- streams


def _bone(x: Tensor, parents: Tensor, coords: int) -> Tensor:
    """Each joint minus its parent on the first ``coords`` channels (joints are dim 3)."""
    joints = x[:, :coords]
    return _replace_coords(x, coords, joints - joints.index_select(3, parents))


def _motion(clips: Clips, x: Tensor, coords: int) -> Tensor:
    """``x[t + 1] - x[t]`` on the first ``coords`` channels, zero from each clip's last frame."""
    points = x[:, :coords]
    change = torch.zeros_like(points)
    change[:, :, :-1] = points[:, :, 1:] - points[:, :, :-1]
    frame = torch.arange(x.shape[2], device=x.device)
    inside = (frame.view(1, -1) < clips.frames.view(-1, 1) - 1).to(x.dtype)  # (B, T)
    return _replace_coords(x, coords, change * inside.view(x.shape[0], 1, -1, 1, 1))


def _direction(clips: Clips, x: Tensor, coords: int) -> Tensor:
    """The first ``coords`` channels scaled to unit length over the channels; vectors no longer
    than :data:`~pyg_action.data.transforms.streams.MIN_LENGTH` become zero."""
    vectors = x[:, :coords]
    length = torch.linalg.vector_norm(vectors, dim=1, keepdim=True)
    unit = vectors / length.clamp_min(MIN_LENGTH)
    return _replace_coords(x, coords, torch.where(length > MIN_LENGTH, unit, 0.0))


#: How a derived stream ``<source>_<kind>`` is made from its source stream, by ``kind``.
_DERIVATIONS = {"motion": _motion, "direction": _direction}


def _parents(step: Bone | Streams) -> _Constants:
    return _Constants(parents=torch.tensor(step.layout.parents, dtype=torch.long))


def _streams(step: Streams) -> BatchedStep:
    constants = _parents(step)

    def apply(clips: Clips, draw: Draw) -> Clips:
        x = clips.x
        coords = _coords(step, x.shape[1])
        made: dict[str, Tensor] = {"joint": x}
        if any(name.startswith("bone") for name in step.streams):
            made["bone"] = _bone(x, constants.on(x.device)["parents"], coords)
        for name in step.streams:
            if name not in made:
                source, _, kind = name.partition("_")
                made[name] = _DERIVATIONS[kind](clips, made[source], coords)
        return clips.with_x(torch.cat([made[name] for name in step.streams], dim=1))

    return apply


def _bone_step(step: Bone) -> BatchedStep:
    constants = _parents(step)

    def apply(clips: Clips, draw: Draw) -> Clips:
        x = clips.x
        parents = constants.on(x.device)["parents"]
        return clips.with_x(_bone(x, parents, _coords(step, x.shape[1])))

    return apply


def _motion_step(step: Motion) -> BatchedStep:
    def apply(clips: Clips, draw: Draw) -> Clips:
        return clips.with_x(_motion(clips, clips.x, _coords(step, clips.x.shape[1])))

    return apply


def _normalize(step: Normalize) -> BatchedStep:
    shape = (1, -1, 1, 1, 1)
    constants = _Constants(
        mean=torch.from_numpy(step.mean).view(shape), std=torch.from_numpy(step.std).view(shape)
    )

    def apply(clips: Clips, draw: Draw) -> Clips:
        x = clips.x
        if x.shape[1] != step.mean.size:
            raise ValueError(
                f"normalize has {step.mean.size} means but the samples have {x.shape[1]} channels"
            )
        const = constants.on(x.device)
        return clips.with_x((x - const["mean"]) / const["std"])

    return apply


_FORMS: dict[type[Transform], Callable[[Transform], BatchedStep]] = {
    UniformSample: _uniform_sample,  # type: ignore[dict-item]
    RandomRotate: _random_rotate,  # type: ignore[dict-item]
    RandomScale: _random_scale,  # type: ignore[dict-item]
    RandomShear: _random_shear,  # type: ignore[dict-item]
    RandomJitter: _random_jitter,  # type: ignore[dict-item]
    RandomLostFrames: _random_lost_frames,  # type: ignore[dict-item]
    Streams: _streams,  # type: ignore[dict-item]
    Bone: _bone_step,  # type: ignore[dict-item]
    Motion: _motion_step,  # type: ignore[dict-item]
    Normalize: _normalize,  # type: ignore[dict-item]
}


def batched_step(step: Transform) -> BatchedStep:
    """The batched form of ``step``; a step without one is a :class:`ValueError` naming it."""
    form = _FORMS.get(type(step))
    if form is None:
        supported = ", ".join(sorted(cls.__name__ for cls in _FORMS))
        raise ValueError(
            f"{step!r} has no batched form for train.device_data (steps after the pipeline's "
            f"deterministic head must be one of: {supported}); move it before the random "
            "steps or set train.device_data=false"
        )
    return form(step)


def batched_steps(steps: list[Transform]) -> Callable[[Clips, Draw], Clips]:
    """The batched form of a chain of steps (every one checked now)."""
    forms = [batched_step(step) for step in steps]

    def apply(clips: Clips, draw: Draw) -> Clips:
        for form in forms:
            clips = form(clips, draw)
        return clips

    return apply
