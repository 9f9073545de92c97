r"""Exponential moving average (EMA) of a model's weights, evaluated in place of the weights.

After every optimiser step the averaged copy moves towards the trained weights:

.. math::

    \bar\theta_t = d_t \bar\theta_{t-1} + (1 - d_t) \theta_t, \qquad
    d_t = \min\left(d, \frac{1 + t}{10 + t}\right)

with ``t`` the number of updates so far; the warm-up term keeps the first epochs from being
dominated by the random initialisation. BatchNorm running statistics are averaged the same way
(``use_buffers=True``), so the averaged model is complete and needs no extra pass over the data.
A decay ``d`` of 0.999 averages over roughly the last thousand steps. The warm-up weighs step
``s`` of ``T`` about ``∝ (s + 10)^8``, so whatever ``d``, a run of ``T`` steps averages over
at most its last ``~T / 9`` steps.

The uniform average (stochastic weight averaging, Izmailov et al., UAI 2018) weighs every step
since it started alike: ``d_t = t / (1 + t)``, ``\bar\theta_t`` the mean of the ``t + 1``
weights so far (its BatchNorm statistics the mean of theirs, an approximation of the
statistics of the averaged weights that needs no pass over the data).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel


class WeightAverage(AveragedModel):
    """A running average of a model's weights, updated by a few multi-tensor kernels per step:
    ``θ̄_t = d_t θ̄_{t-1} + (1 - d_t) θ_t`` with ``d_t`` from :meth:`decay_at` (here the uniform
    average, ``train.swa_from``; :class:`WarmedUpEMA` the moving one).

    :class:`~torch.optim.swa_utils.AveragedModel` with a per-tensor ``avg_fn`` launches four
    kernels for every parameter and buffer and reads the update count back from the device
    for each (about 600 launches and 150 host waits per ST-GCN step on a GPU). Here the
    decay :math:`d_t` is computed on the device from the count (0 on the first update, which
    copies the weights, as ``AveragedModel`` does), the floating tensors move with three
    ``torch._foreach_*`` calls and the integer ones (BatchNorm's batch counters) are copied.
    """

    def __init__(self, net: nn.Module) -> None:
        super().__init__(net, use_buffers=True)

    @torch.no_grad()
    def update_parameters(self, model: nn.Module) -> None:
        averaged = [*self.module.parameters(), *self.module.buffers()]
        current = [*model.parameters(), *model.buffers()]  # no graph is recorded here
        pairs = list(zip(averaged, current, strict=True))
        floats = [(a, c) for a, c in pairs if a.is_floating_point()]
        counters = [(a, c) for a, c in pairs if not a.is_floating_point()]
        d = self.decay_at(self.n_averaged.to(torch.float64))
        if floats:
            moving, target = [a for a, _ in floats], [c for _, c in floats]
            torch._foreach_mul_(moving, d)
            torch._foreach_add_(moving, torch._foreach_mul(target, 1.0 - d))
        if counters:
            torch._foreach_copy_([a for a, _ in counters], [c for _, c in counters])
        self.n_averaged += 1

    def decay_at(self, steps: Tensor) -> Tensor:
        """``d_t`` after ``t = steps`` updates (0-d float64): ``t / (1 + t)``, the uniform
        average of all the weights seen."""
        return steps / (1.0 + steps)


class WarmedUpEMA(WeightAverage):
    """The exponential moving average above, ``d_t = min(d, (1 + t) / (10 + t))``."""

    def __init__(self, net: nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"train.ema_decay must be in (0, 1) (or 0 for off), got {decay}")
        super().__init__(net)
        self.decay = decay

    def decay_at(self, steps: Tensor) -> Tensor:
        warm = torch.clamp((1.0 + steps) / (10.0 + steps), max=self.decay)
        return torch.where(steps == 0, torch.zeros_like(warm), warm)


def ema_model(net: nn.Module, decay: float) -> WarmedUpEMA:
    """A :class:`WarmedUpEMA` of ``net`` with decay ``decay``."""
    return WarmedUpEMA(net, decay)


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
