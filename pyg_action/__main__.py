"""``python -m pyg_action``: the ``pyg-action`` command line, for environments where the
package is importable but its console script is not installed (a source checkout on
``PYTHONPATH``)."""

from .cli.main import cli

if __name__ == "__main__":
    cli(prog_name="pyg-action")
