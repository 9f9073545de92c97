r"""Dropout whose CPU keep mask comes from uniform draws.

Inverted dropout keeps every element with probability :math:`1 - p`, scaled by
:math:`1 / (1 - p)`, and zeroes the rest:
:math:`y = x \odot m / (1 - p)`, :math:`m_i = [u_i \ge p]` with :math:`u_i \sim U[0, 1)`, which
is a Bernoulli(:math:`1 - p`) mask. torch's CPU kernel draws that mask one Bernoulli sample at
a time (``bernoulli_``), several times slower than drawing uniform numbers (``uniform_``) and
comparing them with :math:`p`: on a 2-core AMD EPYC, one thread, forward and backward of a
``(20 480, 64)`` input take 15.3 ms with ``F.dropout`` and 9.4 ms so, and a training step of
the shipped MSR Action3D configs of Shift-GCN, ST-GCN and ST-GCN++ 0.95–0.98 of its time with
``F.dropout`` (``python -m pyg_action.bench.choice``, BENCHMARKS.md). :class:`Dropout` (a drop-in
:class:`torch.nn.Dropout`) therefore takes the uniform draws on CPU while the backend's
``dropout`` is ``"uniform"`` (the default, :mod:`.backend`), and ``F.dropout`` everywhere
else: on CUDA that is one fused kernel. Both draw from torch's generator, so a seed repeats a
run; the two forms draw different masks from the same state (as CPU and CUDA already do).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .backend import get_backend


class Dropout(nn.Dropout):
    """:class:`torch.nn.Dropout` with the CPU mask from uniform draws (module notes).

    Shapes:
        - **input:** any
        - **output:** the input's
    """

    def forward(self, x: Tensor) -> Tensor:
        if not (
            self.training
            and 0 < self.p < 1
            and x.device.type == "cpu"
            and get_backend().dropout == "uniform"
        ):
            return F.dropout(x, self.p, self.training, self.inplace)
        keep = torch.rand(x.shape, device=x.device) >= self.p
        mask = keep.to(x.dtype).mul_(1.0 / (1.0 - self.p))
        return x.mul_(mask) if self.inplace else x * mask
