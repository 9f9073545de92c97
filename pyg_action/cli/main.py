"""``pyg-action``: a thin command line over the library.

Each command lives in its own module and only parses options, calls the library and prints.
"""

from __future__ import annotations

import click

from .layouts_cmd import layouts


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pyg_action")
def cli() -> None:
    """Graph-based action recognition on PyTorch Geometric."""


cli.add_command(layouts)
