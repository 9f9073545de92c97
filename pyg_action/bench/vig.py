"""Time sparse ViG against the dense official formulation: one Grapher block, or whole models.

:func:`benchmark_grapher`: the sparse Grapher (own kNN + PyG message passing) against the dense
one. Both blocks get the same weights and the same ``B`` images of ``grid × grid`` patches; each
repeat runs forward and backward in training mode, sparse and dense interleaved so that machine
load hits both alike, after ``warmup`` untimed rounds. The kNN alone (on the Grapher's ``fc1``
output, no gradient) is timed in the same rounds to give its share of the sparse time.

:func:`benchmark_models`: a whole :class:`~pyg_action.models.vig.ViG` preset against
:class:`~pyg_action.models.dense_vig.DenseViG` with the same weights, on one device, for
inference (evaluation mode, no gradient) and a training step (forward, cross-entropy,
backward), in fp32 and under autocast.

Medians are reported. Command line::

    python -m pyg_action.bench.vig --batch-size 8 --channels 192 --grid 14 --repeats 30
    python -m pyg_action.bench.vig --model ti --img-size 224 --batch-size 64 --device cuda \
        --dtype float32 --dtype bfloat16 --repeats 20 --out benchmarks/cuda_vig.json
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ..models.dense_vig import dense_from_sparse, dense_vig
from ..models.vig import build_vig
from ..nn.dense.vig import DenseGrapher, load_sparse_state
from ..nn.vig_conv import Grapher
from .timing import interleaved_times

#: Autocast dtypes by name (``float32``: no autocast).
DTYPES = {"float32": None, "bfloat16": torch.bfloat16, "float16": torch.float16}
MODES = ("inference", "train")


def benchmark_grapher(
    batch_size: int = 8,
    channels: int = 192,
    grid: int = 14,
    k: int = 9,
    dilation: int = 1,
    conv: str = "mr",
    warmup: int = 3,
    repeats: int = 20,
    seed: int = 0,
    threads: int | None = None,
) -> dict[str, Any]:
    """Median forward+backward times of the sparse and dense Grapher, and their ratio.

    Args:
        batch_size: Images per batch.
        channels: Node width.
        grid: Patches per image side (``grid ** 2`` nodes per image).
        k: Neighbours.
        dilation: kNN dilation.
        conv: Graph convolution (``mr``, ``edge``, ``gin``, ``sage``).
        warmup: Untimed rounds first.
        repeats: Timed rounds.
        seed: Seed of weights and inputs.
        threads: ``torch.set_num_threads`` for the run (``None``: leave as is).

    Returns:
        ``sparse_ms``, ``dense_ms``, ``ratio`` (sparse / dense), ``knn_ms``, ``knn_share``
        (kNN / sparse), ``max_abs_diff`` (outputs), the settings and the thread count.
    """
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        torch.manual_seed(seed)
        options: dict[str, Any] = dict(k=k, dilation=dilation, conv=conv)
        sparse = Grapher(channels, **options).train()
        dense = DenseGrapher(channels, **options).train()
        load_sparse_state(dense, sparse)
        images = torch.randn(batch_size, channels, grid, grid)
        nodes = images.permute(0, 2, 3, 1).reshape(-1, channels).contiguous()
        batch = torch.arange(batch_size).repeat_interleave(grid * grid)
        x_sparse = nodes.clone().requires_grad_()
        x_dense = images.clone().requires_grad_()
        with torch.no_grad():
            features = sparse.fc1(nodes)
            out_s = sparse(nodes, batch)
            out_d = dense(images).permute(0, 2, 3, 1).reshape(-1, channels)
            max_abs_diff = float((out_s - out_d).abs().max())

        def run_sparse() -> None:
            sparse(x_sparse, batch).sum().backward()

        def run_dense() -> None:
            dense(x_dense).sum().backward()

        def run_knn() -> None:
            sparse.knn(features, batch)

        times = interleaved_times(
            {"sparse": run_sparse, "dense": run_dense, "knn": run_knn}, warmup, repeats
        )
    finally:
        torch.set_num_threads(previous_threads)
    sparse_ms, dense_ms, knn_ms = (
        1e3 * statistics.median(times[n]) for n in ("sparse", "dense", "knn")
    )
    return {
        "sparse_ms": sparse_ms,
        "dense_ms": dense_ms,
        "ratio": sparse_ms / dense_ms,
        "knn_ms": knn_ms,
        "knn_share": knn_ms / sparse_ms,
        "max_abs_diff": max_abs_diff,
        "batch_size": batch_size,
        "channels": channels,
        "nodes_per_image": grid * grid,
        "k": k,
        "dilation": dilation,
        "conv": conv,
        "repeats": repeats,
        "threads": torch.get_num_threads() if threads is None else threads,
    }


def benchmark_models(
    variant: str = "ti",
    img_size: int = 224,
    batch_size: int = 64,
    num_classes: int = 1000,
    device: str = "cpu",
    dtypes: Sequence[str] = ("float32", "bfloat16"),
    modes: Sequence[str] = MODES,
    warmup: int = 3,
    repeats: int = 20,
    seed: int = 0,
    **options: Any,
) -> dict[str, Any]:
    """Median times of the sparse and dense ViG, per mode and dtype, on one device.

    Args:
        variant: :data:`~pyg_action.models.vig.VARIANTS` preset (``ti``: ViG-Ti).
        img_size: Image side (the position embedding is made for it).
        batch_size: Images per batch.
        num_classes: Classifier outputs.
        device: Torch device, e.g. ``cuda``.
        dtypes: ``float32`` and/or autocast dtypes ``bfloat16``, ``float16``.
        modes: ``inference`` (evaluation mode, no gradient) and/or ``train`` (forward,
            cross-entropy, backward).
        warmup: Untimed rounds first.
        repeats: Timed rounds (sparse and dense interleaved).
        seed: Seed of weights and inputs.
        **options: More :class:`~pyg_action.models.vig.ViG` options (over the preset).

    Returns:
        The settings and ``rows``: per mode and dtype, ``sparse_ms``, ``dense_ms`` and
        ``speedup`` (dense / sparse); ``max_abs_diff`` of the fp32 evaluation logits and
        ``max_rel_diff``, the same over the dense logits' largest magnitude (an untrained model
        in evaluation mode has logits of 1e7 and more).
    """
    for name in dtypes:
        if name not in DTYPES:
            raise ValueError(f"unknown dtype {name!r}; choose from {sorted(DTYPES)}")
    for mode in modes:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; choose from {MODES}")
    dev = torch.device(device)
    torch.manual_seed(seed)
    options = {"img_size": img_size, **options}
    sparse = build_vig(num_classes, 3, variant=variant, **options)
    dense = dense_from_sparse(dense_vig(num_classes, 3, variant=variant, **options), sparse)
    sparse.to(dev)
    dense.to(dev)
    images = torch.randn(batch_size, 3, img_size, img_size, device=dev)
    labels = torch.randint(0, num_classes, (batch_size,), device=dev)
    with torch.no_grad():
        reference = dense.eval()(images)
        max_abs_diff = float((sparse.eval()(images) - reference).abs().max())
        max_rel_diff = max_abs_diff / max(float(reference.abs().max()), 1e-30)
    rows = []
    for mode in modes:
        for dtype_name in dtypes:
            runs = {
                name: _step(model, images, labels, mode, DTYPES[dtype_name])
                for name, model in (("sparse", sparse), ("dense", dense))
            }
            times = interleaved_times(runs, warmup, repeats, dev)
            sparse_ms, dense_ms = (1e3 * statistics.median(times[n]) for n in runs)
            rows.append(
                {
                    "mode": mode,
                    "dtype": dtype_name,
                    "sparse_ms": sparse_ms,
                    "dense_ms": dense_ms,
                    "speedup": dense_ms / sparse_ms,
                }
            )
    return {
        "variant": variant,
        "img_size": img_size,
        "batch_size": batch_size,
        "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else str(dev),
        "torch": torch.__version__,
        "repeats": repeats,
        "threads": torch.get_num_threads(),
        "max_abs_diff": max_abs_diff,
        "max_rel_diff": max_rel_diff,
        "rows": rows,
    }


def _step(
    model: torch.nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    mode: str,
    dtype: torch.dtype | None,
) -> Callable[[], None]:
    """One inference or training step of ``model``, under autocast to ``dtype`` if given."""

    def autocast() -> Any:
        if dtype is None:
            return nullcontext()
        return torch.autocast(images.device.type, dtype=dtype)

    def infer() -> None:
        model.eval()
        with torch.no_grad(), autocast():
            model(images)

    def train() -> None:
        model.train()
        with autocast():
            loss = F.cross_entropy(model(images).float(), labels)
        loss.backward()
        model.zero_grad(set_to_none=True)

    return infer if mode == "inference" else train


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", default=None, help="time a whole ViG preset (e.g. ti) instead of a Grapher"
    )
    parser.add_argument("--img-size", type=int, default=224, help="with --model")
    parser.add_argument("--device", default="cpu", help="with --model")
    parser.add_argument(
        "--dtype", action="append", choices=sorted(DTYPES), help="with --model (repeatable)"
    )
    parser.add_argument("--mode", action="append", choices=MODES, help="with --model")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--channels", type=int, default=192)
    parser.add_argument("--grid", type=int, default=14)
    parser.add_argument("--k", type=int, default=9)
    parser.add_argument("--dilation", type=int, default=1)
    parser.add_argument("--conv", default="mr")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads is not None and args.model is not None:
        torch.set_num_threads(args.threads)
    if args.model is not None:
        result = benchmark_models(
            args.model,
            args.img_size,
            args.batch_size or 64,
            device=args.device,
            dtypes=args.dtype or ("float32", "bfloat16"),
            modes=args.mode or MODES,
            warmup=args.warmup,
            repeats=args.repeats,
            conv=args.conv,
        )
    else:
        result = benchmark_grapher(
            args.batch_size or 8,
            args.channels,
            args.grid,
            args.k,
            args.dilation,
            args.conv,
            args.warmup,
            args.repeats,
            threads=args.threads,
        )
    text = json.dumps(result, indent=2)
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
