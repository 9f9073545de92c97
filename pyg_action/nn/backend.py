"""Execution choices of the layers, in one place.

The layers compute the same function whatever is chosen here (dropout: masks of the same
distribution); a choice only says which kernels do the work. Each has a default that
BENCHMARKS.md shows paying off, and each is deterministic: the same choice on the same machine
gives the same bits (nothing is picked by timing at run time).

========================  ===============  ==================================================
field                     choices          what it selects
========================  ===============  ==================================================
``linear``                ``onednn``,      CPU fp32 point-wise maps (:mod:`.linear_map`):
                          ``torch``        oneDNN's matrix product (faster on processors whose
                                           BLAS lags, e.g. 210 against 88 GFLOP/s on an AMD
                                           EPYC with AVX-512) or ``F.linear``.
``conv_weight_gradient``  ``onednn``,      CPU weight gradient of the temporal convolution
                          ``taps``         (:mod:`.track_conv`): the convolution's own backward
                                           or one matrix product per tap (1.5x faster on a
                                           2-core Intel Xeon, 1.6x slower on the AMD EPYC).
``scatter``               ``index_add``,   the sum of typed messages (:mod:`.typed_conv`):
                          ``torch_scatter`` torch's ``index_add_`` or the optional
                                           ``torch_scatter`` package.
``temporal_shift``        ``rows``,        Shift-GCN's stride-1 temporal shifts on CPU: row
                          ``gather``       slices (:mod:`.shift_rows`, several times faster
                                           there; reads the offsets) or the gathers every other
                                           device runs (:mod:`.shift_taps`, no host read).
``dropout``               ``uniform``,     the keep masks of the sparse models' dropout on CPU
                          ``native``       (:mod:`.dropout`): uniform draws compared with ``p``
                                           (1.6x faster there, forward and backward) or
                                           torch's Bernoulli kernel.
========================  ===============  ==================================================

:data:`DEVICE_PATH` holds the choices every device but the CPU runs, for counting on a CPU what
a GPU step dispatches (:mod:`pyg_action.bench.opcount`).

CUDA always takes torch's own kernels (cuBLAS, cuDNN, fused dropout): the CPU choices do not
apply there; under CPU autocast the products and convolutions take torch's too (the dropout
masks still follow ``dropout``). ``pyg-action train`` sets ``conv_weight_gradient`` from
``train.weight_gradient`` and ``pyg-action benchmark --linear`` sets ``linear``.

Example::

    from pyg_action.nn.backend import use_backend

    with use_backend(linear="torch"):
        logits = model(batch)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace

from .choices import check_choice


@dataclass(frozen=True)
class Backend:
    """The execution choices (see the module notes)."""

    linear: str = "onednn"
    conv_weight_gradient: str = "onednn"
    scatter: str = "index_add"
    temporal_shift: str = "rows"
    dropout: str = "uniform"

    #: The allowed values of every field.
    CHOICES = {
        "linear": ("onednn", "torch"),
        "conv_weight_gradient": ("onednn", "taps"),
        "scatter": ("index_add", "torch_scatter"),
        "temporal_shift": ("rows", "gather"),
        "dropout": ("uniform", "native"),
    }

    def __post_init__(self) -> None:
        for field in fields(self):
            check_choice(field.name, getattr(self, field.name), self.CHOICES[field.name])


_current = Backend()

#: The CPU-only choices set to what every other device runs: ``use_backend(**DEVICE_PATH)``.
DEVICE_PATH = {"temporal_shift": "gather", "dropout": "native"}


def get_backend() -> Backend:
    """The choices in force."""
    return _current


def set_backend(**choices: str) -> Backend:
    """Change some choices for the rest of the process; returns the previous ones.

    Raises:
        ValueError: for an unknown field or value (nothing is changed then).
        TypeError: for an unknown field name.
    """
    global _current
    previous = _current
    _current = replace(_current, **choices)
    return previous


@contextmanager
def use_backend(**choices: str) -> Iterator[Backend]:
    """Within the block, the given choices are in force (restored on exit)."""
    global _current
    previous = set_backend(**choices)
    try:
        yield _current
    finally:
        _current = previous
