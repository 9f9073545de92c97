"""One comparison: sparse variants against dense references, forward and forward+backward.

Every round calls each variant and each reference once, in turn (see
:func:`~pyg_action.bench.timing.interleaved_times`), after untimed warm-up rounds; medians are
reported. Forward runs under ``torch.no_grad``; forward+backward runs in training mode and
back-propagates ``out.sum()`` into the inputs and parameters (gradients cleared before each
call). The ratio of a variant is its median over the first reference's median.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from .timing import interleaved_times, medians, peak_memory


@dataclass
class Comparison:
    """Callables to time against each other.

    Attributes:
        name: Operator or model name.
        sparse: Forward callables of the sparse variants, by variant name.
        dense: Forward callables of the dense references; the first is the one ratios use.
        modules: Modules whose parameter gradients are cleared before each backward.
        inputs: Leaf inputs (``requires_grad``) whose gradients are cleared likewise.
        differentiable: ``False`` for operators without a backward (kNN).
        info: Extra fields for the report (sizes, widths).
    """

    name: str
    sparse: dict[str, Callable[[], Any]]
    dense: dict[str, Callable[[], Any]]
    modules: Sequence[nn.Module] = ()
    inputs: Sequence[Tensor] = ()
    differentiable: bool = True
    info: dict[str, Any] = field(default_factory=dict)

    def step(self, forward: Callable[[], Any]) -> Callable[[], None]:
        """Forward+backward of one callable, gradients cleared first."""

        def run() -> None:
            for module in self.modules:
                module.zero_grad(set_to_none=True)
            for tensor in self.inputs:
                tensor.grad = None
            forward().sum().backward()

        return run

    def modes(self) -> dict[str, Callable[[Callable[[], Any]], Callable[[], None]]]:
        """How each timed mode calls a forward: ``forward`` without gradients, and
        ``forward_backward`` (:meth:`step`) when the comparison is differentiable."""
        modes: dict[str, Callable[[Callable[[], Any]], Callable[[], None]]] = {
            "forward": _inference
        }
        if self.differentiable:
            modes["forward_backward"] = self.step
        return modes


def _inference(forward: Callable[[], Any]) -> Callable[[], None]:
    def run() -> None:
        with torch.no_grad():
            forward()

    return run


def _timed(
    runs: dict[str, Callable[[], None]], warmup: int, repeats: int, device: torch.device
) -> dict[str, float]:
    return medians(interleaved_times(runs, warmup, repeats, device))


def measure(
    comparison: Comparison,
    warmup: int,
    repeats: int,
    device: torch.device,
    memory: bool = True,
) -> list[dict[str, Any]]:
    """One row per sparse variant: medians, ratios against every reference, peak memory.

    Returns:
        Rows with ``operator``, ``variant``, ``reference`` (the first dense name),
        ``forward`` and ``forward_backward`` (each ``{"sparse_s", "dense_s", "ratio"}`` plus
        ``ratio_vs_<name>`` for further references; ``forward_backward`` is ``None`` when not
        differentiable) and ``sparse_peak_bytes`` / ``dense_peak_bytes`` of the
        forward+backward (forward alone when not differentiable).
    """
    for module in comparison.modules:
        module.train()
    modes = comparison.modes()
    named = {**{f"sparse:{k}": v for k, v in comparison.sparse.items()}, **comparison.dense}
    results = {
        mode: _timed({k: wrap(f) for k, f in named.items()}, warmup, repeats, device)
        for mode, wrap in modes.items()
    }
    references = list(comparison.dense)
    last = "forward_backward" if comparison.differentiable else "forward"
    dense_peak = (
        peak_memory(modes[last](comparison.dense[references[0]]), device) if memory else None
    )
    rows = []
    for variant, forward in comparison.sparse.items():
        row: dict[str, Any] = {
            "operator": comparison.name,
            "variant": variant,
            "reference": references[0],
            "forward_backward": None,
        }
        for mode, times in results.items():
            sparse_s = times[f"sparse:{variant}"]
            entry = {"sparse_s": sparse_s, "dense_s": times[references[0]]}
            entry["ratio"] = sparse_s / times[references[0]]
            for other in references[1:]:
                entry[f"ratio_vs_{other}"] = sparse_s / times[other]
            row[mode] = entry
        row["sparse_peak_bytes"] = peak_memory(modes[last](forward), device) if memory else None
        row["dense_peak_bytes"] = dense_peak
        row.update(comparison.info)
        rows.append(row)
    return rows
