r"""Exponential moving average (EMA) of a model's weights, evaluated in place of the weights.

After every optimiser step the averaged copy moves towards the trained weights:

.. math::

    \bar\theta_t = d_t \bar\theta_{t-1} + (1 - d_t) \theta_t, \qquad
    d_t = \min\left(d, \frac{1 + t}{10 + t}\right)

with ``t`` the number of updates so far; the warm-up term keeps the first epochs from being
dominated by the random initialisation. BatchNorm running statistics are averaged the same way
(``use_buffers=True``), so the averaged model is complete and needs no extra pass over the data.
A decay ``d`` of 0.999 averages over roughly the last thousand steps.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel


def ema_model(net: nn.Module, decay: float) -> AveragedModel:
    """An :class:`~torch.optim.swa_utils.AveragedModel` of ``net`` with the warmed-up decay."""
    if not 0.0 < decay < 1.0:
        raise ValueError(f"train.ema_decay must be in (0, 1) (or 0 for off), got {decay}")

    def average(averaged: Tensor, current: Tensor, num_averaged: Tensor | int) -> Tensor:
        if not averaged.is_floating_point():  # counters such as BatchNorm's batches seen
            return current
        steps = float(num_averaged)
        d = min(decay, (1.0 + steps) / (10.0 + steps))
        return averaged * d + current * (1.0 - d)

    return AveragedModel(net, avg_fn=average, use_buffers=True)


def averaged_module(ema: AveragedModel) -> nn.Module:
    """The model holding the averaged weights (same class and keys as the trained one)."""
    module = ema.module
    assert isinstance(module, nn.Module)
    return module


def ema_state(ema: AveragedModel) -> dict[str, Any]:
    """The averaged weights (keys as in the plain model) and the update count."""
    return {"weights": averaged_module(ema).state_dict(), "updates": int(ema.n_averaged)}


def load_ema_state(ema: AveragedModel, state: dict[str, Any]) -> None:
    """Restore what :func:`ema_state` saved."""
    averaged_module(ema).load_state_dict(state["weights"])
    with torch.no_grad():
        ema.n_averaged.fill_(int(state["updates"]))
