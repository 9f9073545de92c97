"""Atomic checkpoints that load without unrestricted pickle.

A checkpoint holds only tensors and plain Python values (the config as JSON text), so
:func:`load_checkpoint` uses ``torch.load(weights_only=True)``: a file crafted to run code is
refused by torch's restricted unpickler.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Write ``state`` to ``path`` atomically (temporary file in the same folder + rename).

    A crash mid-write leaves the previous checkpoint intact, never a half-written one; the
    temporary file such a crash leaves behind is removed by the next save of ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        stale.unlink(missing_ok=True)
    payload = dict(state)
    if "config" in payload:
        payload["config"] = json.dumps(payload["config"])
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(payload, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (``weights_only=True``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - re-raised with the file name
        raise ValueError(f"{path}: not a loadable pyg_action checkpoint: {exc}") from exc
    if not isinstance(state, dict) or "model" not in state:
        raise ValueError(f"{path}: not a pyg_action checkpoint (no model weights)")
    if isinstance(state.get("config"), str):
        try:
            state["config"] = json.loads(state["config"])
        except ValueError as exc:
            raise ValueError(f"{path}: its config is not JSON: {exc}") from exc
    return state


def load_weights(model: nn.Module, weights: Any, path: str | Path) -> None:
    """``model.load_state_dict(weights)``; a mismatch names ``path`` and the first bad key."""
    if not isinstance(weights, dict):
        raise ValueError(f"checkpoint {path}: its weights are not a state dict")
    own = model.state_dict()
    missing = sorted(set(own) - set(weights))
    unexpected = sorted(set(weights) - set(own))
    if missing or unexpected:
        raise ValueError(
            f"checkpoint {path}: its weights do not fit the model its config builds "
            f"(missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    for key, tensor in own.items():
        theirs = weights[key]
        if not isinstance(theirs, torch.Tensor) or theirs.shape != tensor.shape:
            shape = tuple(theirs.shape) if isinstance(theirs, torch.Tensor) else type(theirs)
            raise ValueError(
                f"checkpoint {path}: weight {key!r} has shape {shape}, the model its config "
                f"builds needs {tuple(tensor.shape)} (other channels or layout?)"
            )
    model.load_state_dict(weights)
