"""Time Shift-GCN against ST-GCN on the same input (CPU or CUDA), and the shifts inside it.

All models get the same batch of ``batch_size`` random ``(3, frames, V, persons)`` samples
and run forward in eval mode without gradients. Every round calls ST-GCN (with its default
temporal fast path and with temporal message passing) and Shift-GCN with the gather shifts
once each, in turn, so that machine load hits all alike; ``warmup`` rounds are untimed and
medians are reported. Shift-GCN with the message-passing shifts (optional) is compared with
the gather one in rounds of their own, and so are both models traced as ``pyg-action export``
writes them (optional, ``--traced``). Parameter counts come from the models, FLOPs from
:class:`torch.utils.flop_counter.FlopCounterMode` (matrix products only: shifts, gathers and
scatters count zero, which is the point of Shift-GCN). Each shift operator's share of the
block time is measured with forward hooks (wall time inside every graph shift, temporal
shift and block call, the device synchronised at both ends on CUDA) over separate rounds.

Command line::

    python -m pyg_action.bench.shift --batch-size 4 --frames 64 --repeats 7 --threads 1
    python -m pyg_action.bench.shift --device cuda --traced
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any, cast

import torch
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode
from torch_geometric.loader import DataLoader

from ..engine.export import FixedSizeClassifier, trace_frozen
from ..graph import SkeletonGraphBuilder
from ..layouts import get_layout
from ..models import create_model
from ..models.shiftgcn import ShiftGCNBlock
from ..models.skeleton_classifier import SkeletonClassifier
from ..nn.backend import Backend, use_backend
from ..nn.motion import MotionExcitation
from ..nn.shift import GraphShift, TemporalShift
from .timing import interleaved_times, synchronize

#: Module kinds whose time is reported as a share of the block time.
TIMED_KINDS: dict[str, type[nn.Module]] = {
    "graph_shift": GraphShift,
    "temporal_shift": TemporalShift,
    "motion_excitation": MotionExcitation,
}


@contextmanager
def _module_timer(
    model: nn.Module, kinds: dict[str, type[nn.Module]], device: torch.device
) -> Iterator[dict[str, float]]:
    """Accumulate wall seconds spent inside modules of each kind (and in blocks)."""
    totals: dict[str, float] = defaultdict(float)
    starts: dict[int, float] = {}
    handles = []
    for module in model.modules():
        kind = next((k for k, cls in kinds.items() if isinstance(module, cls)), None)
        if kind is None:
            continue

        def before(mod: nn.Module, args: Any) -> None:
            synchronize(device)
            starts[id(mod)] = time.perf_counter()

        def after(mod: nn.Module, args: Any, out: Any, kind: str = kind) -> None:
            synchronize(device)
            totals[kind] += time.perf_counter() - starts[id(mod)]

        handles.append(module.register_forward_pre_hook(before))
        handles.append(module.register_forward_hook(after))
    try:
        yield totals
    finally:
        for handle in handles:
            handle.remove()


def _median_ms(
    models: dict[str, nn.Module], batch: Any, warmup: int, repeats: int, device: torch.device
) -> dict[str, float]:
    runs = {name: (lambda m=model: m(batch)) for name, model in models.items()}
    times = interleaved_times(runs, warmup, repeats, device)
    return {f"{name}_ms": 1e3 * statistics.median(values) for name, values in times.items()}


def _gflops(model: nn.Module, batch: Any) -> float:
    """GFLOPs of one forward, counted on torch's portable operators: the counter has no
    formula for oneDNN's ``_linear_pointwise`` (it would count those products as zero), and
    a product has the same FLOPs whichever library runs it."""
    counter = FlopCounterMode(display=False)
    with use_backend(linear="torch"), counter:
        model(batch)
    return counter.get_total_flops() / 1e9


def _shares(
    model: nn.Module, batch: Any, warmup: int, repeats: int, device: torch.device
) -> dict[str, float]:
    """Share of the block time spent in each shift kind, and ms per forward."""
    with _module_timer(model, {**TIMED_KINDS, "blocks": ShiftGCNBlock}, device) as totals:
        interleaved_times({"model": lambda: model(batch)}, warmup, repeats, device)
    block = totals.pop("blocks")
    calls = warmup + repeats
    out = {f"{kind}_share": seconds / block for kind, seconds in totals.items()}
    out.update({f"{kind}_ms": 1e3 * seconds / calls for kind, seconds in totals.items()})
    return out


def _traced(model: nn.Module, builder: SkeletonGraphBuilder, dense: Tensor) -> Any:
    """``model`` as ``pyg-action export`` writes it (traced and frozen) for inputs of
    ``dense``'s shape ``(B, C, T, V, M)``."""
    b, c, t, v, m = dense.shape
    wrapper = FixedSizeClassifier(cast(SkeletonClassifier, model), builder, (b, c, t, v, m))
    return trace_frozen(wrapper.to(dense.device), dense)


def benchmark_shiftgcn(
    layout: str = "ntu25",
    batch_size: int = 4,
    frames: int = 64,
    persons: int = 2,
    num_classes: int = 60,
    spatial_shift: str = "nonlocal",
    temporal_shift: str = "adaptive",
    motion_excitation: bool = False,
    message: bool = True,
    traced: bool = False,
    warmup: int = 1,
    repeats: int = 7,
    message_repeats: int = 3,
    seed: int = 0,
    threads: int | None = None,
    linear: str = "onednn",
    device: str = "cpu",
) -> dict[str, Any]:
    """Median forward times of ST-GCN and Shift-GCN (gather and message shifts).

    Args:
        layout: Skeleton layout of the random samples.
        batch_size, frames, persons: Input size (``batch_size * persons * frames * V`` nodes).
        num_classes: Classifier width.
        spatial_shift, temporal_shift, motion_excitation: Shift-GCN options.
        message: Also time Shift-GCN with ``impl="message"`` (slow for the non-local shift,
            whose message form has ``V`` edges per node), interleaved with the gather model in
            ``message_repeats`` rounds of their own.
        traced: Also time both models traced for this input shape, as ``pyg-action export``
            writes them (:class:`~pyg_action.engine.export.FixedSizeClassifier` traced and
            frozen by :func:`~pyg_action.engine.export.trace_frozen`: the same operators
            without Python dispatch, and nothing recomputed that depends on the weights and
            the graph alone), in rounds of their own.
        warmup: Untimed rounds first.
        repeats: Timed rounds.
        seed: Seed of weights and inputs.
        threads: ``torch.set_num_threads`` for the run (``None``: leave as is).
        linear: Point-wise maps through :func:`~pyg_action.nn.linear` (``"onednn"``: oneDNN
            on CPU where it applies) or always through ``F.linear`` (``"torch"``).
        device: ``"cpu"`` or ``"cuda"`` (the timings wait for the device at both ends of
            every call).

    Returns:
        ``stgcn_ms`` (its default temporal fast path), ``stgcn_edges_ms`` (temporal message
        passing), ``shiftgcn_ms`` (gather), ``speedup`` (ST-GCN / Shift-GCN) and
        ``speedup_vs_stgcn_edges``,
        ``shiftgcn_message_ms`` and ``message_over_gather`` (when ``message``),
        ``stgcn_traced_ms``, ``shiftgcn_traced_ms`` and ``speedup_traced`` (when ``traced``),
        parameter
        counts, GFLOPs, the per-kind shares of the block time (``graph_shift_share``, ... for
        the gather model, ``message_*`` for the message model), the largest logit difference
        between the two implementations, and the settings.
    """
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' asked for, but torch sees no CUDA device")
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        with use_backend(linear=linear):
            torch.manual_seed(seed)
            joints = get_layout(layout).num_joints
            builder = SkeletonGraphBuilder(layout)
            dense = torch.randn(batch_size, 3, frames, joints, persons)
            samples = [builder(sample) for sample in dense]
            batch = next(iter(DataLoader(samples, batch_size=batch_size))).to(dev)
            dense = dense.to(dev)
            options = dict(
                spatial_shift=spatial_shift,
                temporal_shift=temporal_shift,
                motion_excitation=motion_excitation,
            )
            models = {
                "stgcn": create_model("stgcn", num_classes=num_classes, layout=layout),
                "stgcn_edges": create_model(
                    "stgcn", num_classes=num_classes, layout=layout, temporal_impl="edges"
                ),
                "shiftgcn": create_model(
                    "shiftgcn", num_classes=num_classes, layout=layout, **options
                ),
            }
            for model in models.values():
                model.to(dev).eval()
            result: dict[str, Any] = {}
            with torch.no_grad():
                result.update(_median_ms(models, batch, warmup, repeats, dev))
                for name in ("stgcn", "shiftgcn"):
                    result[f"{name}_params"] = sum(p.numel() for p in models[name].parameters())
                    result[f"{name}_gflops"] = _gflops(models[name], batch)
                result.update(_shares(models["shiftgcn"], batch, 0, repeats, dev))
                if message:  # its own rounds: its large messages would slow the others down
                    gather = models["shiftgcn"]
                    slow = create_model(
                        "shiftgcn",
                        num_classes=num_classes,
                        layout=layout,
                        impl="message",
                        **options,
                    ).to(dev)
                    slow.eval().load_state_dict(gather.state_dict())
                    pair = _median_ms(
                        {"gather": gather, "message": slow}, batch, 0, message_repeats, dev
                    )
                    result["shiftgcn_message_ms"] = pair["message_ms"]
                    result["message_over_gather"] = pair["message_ms"] / pair["gather_ms"]
                    shares = _shares(slow, batch, 0, 1, dev)
                    result.update({f"message_{key}": value for key, value in shares.items()})
                    result["max_abs_diff"] = float((slow(batch) - gather(batch)).abs().max())
                if traced:
                    programs = {
                        f"{name}_traced": _traced(models[name], builder, dense)
                        for name in ("stgcn", "shiftgcn")
                    }
                    times = interleaved_times(
                        {name: partial(program, dense) for name, program in programs.items()},
                        warmup,
                        repeats,
                        dev,
                    )
                    for name, values in times.items():
                        result[f"{name}_ms"] = 1e3 * statistics.median(values)
                    result["speedup_traced"] = (
                        result["stgcn_traced_ms"] / result["shiftgcn_traced_ms"]
                    )
    finally:
        torch.set_num_threads(previous_threads)
    result["speedup"] = result["stgcn_ms"] / result["shiftgcn_ms"]
    result["speedup_vs_stgcn_edges"] = result["stgcn_edges_ms"] / result["shiftgcn_ms"]
    result["param_ratio"] = result["stgcn_params"] / result["shiftgcn_params"]
    result["flop_ratio"] = result["stgcn_gflops"] / result["shiftgcn_gflops"]
    result.update(
        layout=layout,
        nodes=int(batch.x.shape[0]),
        batch_size=batch_size,
        frames=frames,
        persons=persons,
        spatial_shift=spatial_shift,
        temporal_shift=temporal_shift,
        motion_excitation=motion_excitation,
        repeats=repeats,
        threads=torch.get_num_threads() if threads is None else threads,
        linear=linear,
        device=torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
    )
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layout", default="ntu25")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--frames", type=int, default=64)
    parser.add_argument("--persons", type=int, default=2)
    parser.add_argument("--spatial-shift", default="nonlocal")
    parser.add_argument("--temporal-shift", default="adaptive")
    parser.add_argument("--motion-excitation", action="store_true")
    parser.add_argument("--no-message", dest="message", action="store_false")
    parser.add_argument(
        "--traced", action="store_true", help="also time both models as exported (frozen)"
    )
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--message-repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--linear", choices=Backend.CHOICES["linear"], default="onednn", help="point-wise maps"
    )
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    args = parser.parse_args(argv)
    print(json.dumps(benchmark_shiftgcn(**vars(args)), indent=2))


if __name__ == "__main__":
    main()
