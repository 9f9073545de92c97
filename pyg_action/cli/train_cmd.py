"""``pyg-action train``: train a registered model from a config (or the model's defaults)."""

from __future__ import annotations

from pathlib import Path

import click

from .options import dataset_class_option


@click.command()
@click.option(
    "--model", "model_name", default=None, help="Registered model (stgcn, shiftgcn, vig, ...)."
)
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option("--data", "data_path", default=None, help="Dataset root/file (sets data.root).")
@click.option("--epochs", type=int, default=None)
@click.option("--batch-size", type=int, default=None)
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Output folder (default: runs/<model>-<data>).",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue from OUT/last.pt. Without it a folder holding a run is never overwritten: "
    "the default folder is numbered (-2, -3, ...), a named --out is refused.",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Dotted config override, e.g. --set train.optimizer.lr=0.05 (repeatable).",
)
@click.option(
    "--quiet", is_flag=True, help="No progress bars (the one line per epoch is still printed)."
)
@click.option(
    "--nproc",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Train data-parallel in N local processes (gloo on CPU, nccl with --device cuda); "
    "--batch-size stays the global batch.",
)
@dataset_class_option()
def train(
    model_name,
    config_path,
    data_path,
    epochs,
    batch_size,
    device,
    out_dir,
    resume,
    overrides,
    quiet,
    nproc,
    dataset_class,
):
    """Train a model; prints held-out accuracy every epoch.

    Without --config, trains on the model's embedded dataset (synthetic skeletons for the
    skeleton models, scikit-learn digits for ViG): no download needed. Under torchrun
    (``torchrun --nproc-per-node N --no-python pyg-action train ...``) every process trains
    its share and rank 0 prints and writes.
    """
    from torch.multiprocessing.spawn import ProcessException

    from ..engine.config import load_config
    from ..engine.distributed import (
        check_batch_split,
        is_main_process,
        launched_world_size,
        spawn,
    )
    from ..engine.run_folder import choose_run_folder
    from ..engine.trainer import read_result
    from ..engine.trainer import train as run_training

    extra = list(overrides)
    if data_path is not None:
        extra.append(f"data.root={data_path}")
    if epochs is not None:
        extra.append(f"train.epochs={epochs}")
    if batch_size is not None:
        extra.append(f"train.batch_size={batch_size}")
    if dataset_class is not None:
        extra.append(f"data.class_path={dataset_class}")
    try:
        config = load_config(config_path, extra, model=model_name)
        check_batch_split(int(config["train"]["batch_size"]), nproc)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise click.ClickException("--device cuda asked for, but torch sees no CUDA device")
        if nproc > torch.cuda.device_count():
            raise click.ClickException(
                f"--nproc {nproc} with --device cuda needs {nproc} GPUs; torch sees "
                f"{torch.cuda.device_count()}"
            )
    if nproc > 1 and launched_world_size() > 1:
        raise click.ClickException("--nproc inside a torchrun launch: use one or the other")
    name = config["model"]["name"]
    out = Path(out_dir) if out_dir else Path("runs") / f"{name}-{config['data']['name']}"
    try:
        out, decided = choose_run_folder(out, named=out_dir is not None, resume=resume)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    main = is_main_process()
    if main:
        if decided:
            click.echo(decided)
        click.echo(f"model {name} on data {config['data']['name']} -> {out}")
    try:
        if nproc > 1:
            args = (config, out, device, resume, not quiet, True, dataset_class)
            spawn(run_training, nproc, args)
            result = read_result(out)
        else:
            result = run_training(
                config,
                out,
                device=device,
                resume=resume,
                progress=not quiet,
                epoch_lines=True,
                dataset_class=dataset_class,
            )
    except (ValueError, FileNotFoundError, ProcessException) as exc:
        raise click.ClickException(str(exc)) from exc
    if not main:
        return
    tag = " (synthetic data)" if result.synthetic else ""
    click.echo(
        f"held-out top-1 {result.final['top1']:.2f}%  top-5 {result.final['top5']:.2f}%  "
        f"mean-class {result.final['mean_class']:.2f}%{tag}"
    )
    click.echo(
        f"best top-1 {result.best['top1']:.2f}% at epoch {result.best.get('epoch')}; "
        f"checkpoints and log.jsonl in {out}"
    )
