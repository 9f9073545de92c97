"""The runnable examples in the docs still run."""

import re
import shlex
from pathlib import Path

import click

from pyg_action.cli.main import cli

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_pyg_pipeline_example_runs():
    text = (DOCS / "pyg-pipeline.md").read_text()
    example = re.findall(r"```python\n(.*?)```", text, re.S)[0]
    scope: dict = {}
    exec(compile(example, "docs/pyg-pipeline.md", "exec"), scope)
    frames = 20 + 29 + 32  # ceil(T / 2) for T = 40, 57, 63
    assert scope["out"].shape == scope["same"].shape == (frames * 25, 64)
    assert (scope["out"] - scope["same"]).abs().max() < 1e-4
    assert (scope["h"] - scope["h_blocks"]).abs().max() < 1e-4


def _pyg_action_commands(text: str) -> list[list[str]]:
    """Arguments of every ``pyg-action ...`` line of shell text (continuations joined);
    lines with ``[optional]`` parts, and lookups of the command (``command -v pyg-action``),
    are left out."""
    commands = []
    for line in text.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True) if "pyg-action " in line else []
        if "pyg-action" in words and "[" not in line:
            at = words.index("pyg-action")
            if at == 0 or words[at - 1] != "-v":
                commands.append(words[at + 1 :])
    return commands


#: A value of each loop variable of the GPU script, so that its commands parse.
GPU_SCRIPT_VALUES = {"dtype": "bfloat16", "shape": "msr20-real-B64", "msr_root": "data"}


def _gpu_script_commands(path: Path) -> str:
    """The GPU script with ``python3 -m pyg_action`` read as ``pyg-action`` and its loop
    variables set to one of their values."""
    text = path.read_text().replace("python3 -m pyg_action ", "pyg-action ")
    return re.sub(r'"\$(\w+)"', lambda m: GPU_SCRIPT_VALUES.get(m.group(1), m.group(0)), text)


def test_commands_of_the_docs_and_scripts_parse():
    """Every ``pyg-action`` command in the README's, BENCHMARKS.md's and the docs' shell
    blocks and in the GPU script names real commands, options and choices (parsed by the
    CLI, not run)."""
    root = DOCS.parent
    pages = [root / "README.md", root / "BENCHMARKS.md", *sorted(DOCS.glob("*.md"))]
    blocks = [b for page in pages for b in re.findall(r"```bash\n(.*?)```", page.read_text(), re.S)]
    texts = [*blocks, _gpu_script_commands(root / "scripts" / "gpu_benchmarks.sh")]
    commands = [c for text in texts for c in _pyg_action_commands(text)]
    assert len(commands) >= 20
    for args in commands:
        command = cli.commands[args[0]]
        try:
            with command.make_context(args[0], args[1:]) as ctx:  # raises on a bad option
                assert ctx.params
        except click.BadParameter as exc:  # files a user makes first (checkpoints, data)
            param_type = exc.param.type if exc.param is not None else None
            if not (isinstance(param_type, click.Path) and "does not exist" in str(exc)):
                raise


def _heading_anchors(text: str) -> set[str]:
    """GitHub's anchors of a Markdown page's headings: lower case, characters other than
    letters, digits, ``-``, ``_`` and spaces dropped, spaces as ``-``."""
    headings = re.findall(r"^#+ (.+)$", re.sub(r"```.*?```", "", text, flags=re.S), re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_links_and_page_references_of_the_docs_resolve():
    """Every relative Markdown link of the README, BENCHMARKS.md and the docs names an
    existing file and, after ``#``, a heading of that page; every ``docs/<page>.md`` named in
    their text or in a config exists."""
    root = DOCS.parent
    pages = [root / "README.md", root / "BENCHMARKS.md", *sorted(DOCS.glob("*.md"))]
    configs = sorted((root / "configs").rglob("*.yaml"))
    links = 0
    for page in pages:
        text = page.read_text()
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+://", target):
                continue
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            assert linked.is_file(), f"{page.name}: link to missing {target}"
            if anchor:
                anchors = _heading_anchors(linked.read_text())
                assert anchor in anchors, f"{page.name}: no heading for #{anchor} in {linked.name}"
            links += 1
    assert links >= 20
    for source in [*pages, *configs]:
        for name in re.findall(r"docs/([\w.-]+\.md)", source.read_text()):
            assert (DOCS / name).is_file(), f"{source.name} names missing docs/{name}"
