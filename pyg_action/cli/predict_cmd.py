"""``pyg-action predict``: label and top-5 probabilities for skeleton files, or a stream."""

from __future__ import annotations

import json

import click

STDIN = "-"


@click.command()
@click.option(
    "--checkpoint",
    "checkpoint",
    type=click.Path(exists=True, dir_okay=False),
    help="A training checkpoint.",
)
@click.option(
    "--model-file",
    "model_file",
    type=click.Path(exists=True, dir_okay=False),
    help="A model written by `pyg-action export` (*.onnx: ONNX, anything else: TorchScript); "
    "runs on the CPU from this file alone.",
)
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, allow_dash=True)
)
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="How many classes to print per sample.",
)
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--stream", is_flag=True, help="Classify a sliding window over each FILE or stdin.")
@click.option(
    "--window", type=click.IntRange(min=1), default=64, show_default=True, help="Frames per window."
)
@click.option(
    "--hop",
    type=click.IntRange(min=1),
    default=16,
    show_default=True,
    help="Frames between window starts.",
)
@click.option(
    "--channels",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Numbers per joint on stdin.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the predictions of the files as one JSON document (not with --stream).",
)
def predict(checkpoint, model_file, files, top, device, stream, window, hop, channels, as_json):
    """Predict the action in each FILE (any supported format).

    With --model-file, each sequence is fitted to the exported input after the test-time
    transforms: longer sequences keep their first T frames, shorter ones are zero padded at
    the end; persons beyond the exported M are dropped and missing ones are zero (so a
    one-person sample in a two-person export can score slightly differently from the
    checkpoint).

    With --stream, a window of --window frames advances by --hop frames over each FILE, and
    each window prints its frame range, top label, probability and latency; a latency
    summary (median, p95) ends the output. A last window ends at the final frame when the
    stream stops between hops. FILE `-` reads frames from stdin as they arrive: one frame
    per line, M x V x C numbers (person by person, joint by joint, --channels numbers per
    joint) separated by spaces or commas; a blank line or end of input ends the stream.

    With --json, stdout holds one JSON document: ``{"predictions": [{"file", "sample",
    "top": [{"class", "probability"}, ...]}, ...], "errors": [{"file", "error"}, ...]}``;
    the errors are also written to stderr.
    """
    from ..engine.streaming import latency_summary

    if (checkpoint is None) == (model_file is None):
        raise click.UsageError("give exactly one of --checkpoint and --model-file")
    if STDIN in files and not stream:
        raise click.UsageError("reading stdin ('-') needs --stream")
    if as_json and stream:
        raise click.UsageError("--json prints file predictions; it does not combine with --stream")
    try:
        classify, layout = _load_classifier(checkpoint, model_file, device, top)
    except (ValueError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from exc
    if stream:
        latencies = []
        failed = _predict_streams(files, classify, layout, window, hop, channels, latencies)
        summary = latency_summary(latencies)
        if summary["count"]:
            click.echo(
                f"{summary['count']} windows, latency median {summary['median']:.1f} ms, "
                f"p95 {summary['p95']:.1f} ms"
            )
        else:
            click.echo("no window classified")
    else:
        records: list[dict] = []
        errors: list[dict] = []
        _predict_files(files, classify, records, errors)
        failed = bool(errors)
        if as_json:
            click.echo(json.dumps({"predictions": records, "errors": errors}, indent=2))
        else:
            _print_predictions(records)
    if failed:
        raise SystemExit(1)


def _load_classifier(checkpoint, model_file, device, top):
    """The classifier of a checkpoint or an exported file, and its skeleton layout."""
    from ..layouts import get_layout

    if model_file is not None:
        from ..engine.export import load_exported

        exported = load_exported(model_file)
        layout = get_layout(exported.metadata.layout)
        return lambda sequences: exported.predict(sequences, top), layout
    from ..engine.inference import load_trained, predict_sequences

    model, state = load_trained(checkpoint, device)
    layout = get_layout(state["layout"])
    return lambda sequences: predict_sequences(model, state, sequences, top), layout


def _predict_files(files, classify, records: list[dict], errors: list[dict]) -> None:
    """Append the top classes of every sample of every file to ``records``, and what could
    not be read or classified to ``errors`` (also printed to stderr)."""
    from ..errors import SkeletonDataError
    from ..io import read_samples

    for path in files:
        try:
            result = read_samples(path)
            for error in result.errors:
                click.echo(f"{path}: skipped: {error}", err=True)
                errors.append({"file": str(path), "error": str(error)})
            if not result.samples:
                continue
            ranked = classify(result.samples)
        except (SkeletonDataError, ValueError) as exc:
            click.echo(f"error: {exc}", err=True)
            errors.append({"file": str(path), "error": str(exc)})
            continue
        for seq, classes in zip(result.samples, ranked, strict=True):
            top = [{"class": name, "probability": round(p, 6)} for name, p in classes]
            records.append({"file": str(path), "sample": seq.name, "top": top})


def _print_predictions(records: list[dict]) -> None:
    for record in records:
        best, *rest = record["top"]
        click.echo(f"{record['sample']}: {best['class']} ({best['probability']:.3f})")
        for entry in rest:
            click.echo(f"    {entry['class']}: {entry['probability']:.3f}")


def _stream_sources(path, layout, channels):
    """``[(name, layout name, frames)]`` of stdin or of each sample of a file, and read errors."""
    from ..engine.streaming import read_text_frames, sequence_frames
    from ..io import read_samples

    if path == STDIN:
        lines = click.get_text_stream("stdin")
        return [("stdin", layout.name, read_text_frames(lines, layout.num_joints, channels))], []
    result = read_samples(path)
    sources = [(seq.name, seq.layout, sequence_frames(seq)) for seq in result.samples]
    return sources, result.errors


def _predict_streams(files, classify, layout, window, hop, channels, latencies) -> bool:
    """Print every window's prediction, appending its latency; ``True`` if any failed."""
    from ..engine.streaming import stream_predictions
    from ..errors import SkeletonDataError

    failed = False
    for path in files:
        try:
            sources, errors = _stream_sources(path, layout, channels)
            for error in errors:
                click.echo(f"{path}: skipped: {error}", err=True)
                failed = True
            for name, layout_name, frames in sources:
                for result in stream_predictions(frames, classify, window, hop, layout_name, name):
                    latencies.append(result.latency_ms)
                    click.echo(
                        f"{name}: frames {result.start}-{result.stop - 1}: {result.label} "
                        f"({result.probability:.3f}) {result.latency_ms:.1f} ms"
                    )
        except (SkeletonDataError, ValueError) as exc:
            click.echo(f"error: {'stdin' if path == STDIN else path}: {exc}", err=True)
            failed = True
    return failed
