"""``pyg-action prepare``: read raw skeleton files once into a memory-mappable cache."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from ..errors import SkeletonDataError
from ..io import FORMAT_SUFFIXES, folder_suffixes


@click.command()
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.argument("out", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "format_",
    type=click.Choice(sorted(FORMAT_SUFFIXES)),
    default=None,
    help="Reader format (default: from each file's suffix).",
)
@click.option("--layout", default=None, help="Layout name or YAML/JSON layout file of the samples.")
@click.option("--strict", is_flag=True, help="Exit with status 1 when any file or sample is bad.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def prepare(
    source: Path, out: Path, format_: str | None, layout: str | None, strict: bool, quiet: bool
) -> None:
    """Read every sample under SOURCE (a folder or one file) into the cache folder OUT.

    Keeps only the coordinates (one float32 array plus offsets, shapes, labels, names and
    meta as JSON) and writes report.json listing every bad file with its reason. Fails
    (exit status 1, report.json still written) when no good sample was found.
    """
    from ..data.prepared import cache_nbytes
    from ..data.prepared import prepare as prepare_cache

    try:
        report = prepare_cache(source, out, format_, layout, progress=not quiet)
    except (SkeletonDataError, ValueError, FileNotFoundError) as exc:
        written = out / "report.json"
        if isinstance(exc, SkeletonDataError) and written.is_file():  # nothing good was read
            _print_report(json.loads(written.read_text(encoding="utf-8")), source, format_)
        raise click.ClickException(str(exc)) from exc
    _print_report(report, source, format_)
    sizes = cache_nbytes(out)
    click.echo(
        f"cache:  {out} ({sizes['total'] / 1e6:.1f} MB; "
        f"{sizes['coordinates_per_sample'] / 1e3:.1f} kB coordinates per sample)"
    )
    if strict and report["bad"]:
        click.echo(f"--strict: {report['bad']} bad file(s) or sample(s)", err=True)
        raise SystemExit(1)


def _print_report(report: Mapping[str, Any], source: Path, format_: str | None) -> None:
    """The report's counts, its bad entries with their reasons and the unread files."""
    click.echo(f"source: {source}")
    click.echo(f"good:   {report['good']} samples")
    click.echo(f"bad:    {report['bad']}")
    for file, reason in report["bad_files"]:
        click.echo(f"  {file}: {reason}")
    unread = report.get("unread_files", [])
    if unread:
        searched = ", ".join(folder_suffixes(format_))
        click.echo(f"not read: {len(unread)} file(s) (a folder is searched for {searched} files)")
        for file in unread:
            click.echo(f"  {file}")
        if format_ is None and any(Path(f).suffix.lower() in (".npy", ".pkl") for f in unread):
            click.echo(
                "  (ST-GCN .npy and pyskl .pkl containers are read when named: "
                "pyg-action prepare FILE OUT)"
            )
