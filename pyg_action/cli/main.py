"""``pyg-action``: a thin command line over the library.

Each command lives in its own module and only parses options, calls the library and prints.
"""

from __future__ import annotations

import click

from .benchmark_cmd import benchmark
from .ensemble_cmd import ensemble
from .evaluate_cmd import evaluate
from .export_cmd import export
from .inspect_cmd import inspect
from .layouts_cmd import layouts
from .predict_cmd import predict
from .prepare_cmd import prepare
from .scores_cmd import scores
from .sweep_cmd import sweep
from .train_cmd import train
from .visualize_cmd import visualize


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pyg_action")
def cli() -> None:
    """Graph-based action recognition on PyTorch Geometric."""


cli.add_command(layouts)
cli.add_command(inspect)
cli.add_command(prepare)
cli.add_command(train)
cli.add_command(sweep)
cli.add_command(evaluate)
cli.add_command(ensemble)
cli.add_command(scores)
cli.add_command(predict)
cli.add_command(export)
cli.add_command(visualize)
cli.add_command(benchmark)
