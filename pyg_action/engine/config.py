"""Training configuration: defaults, YAML files and dotted ``key=value`` overrides.

A config has four sections::

    model: {name: stgcn, ...model options}
    data:  {name: msr_action3d, ...dataset options}   # default: the model's embedded data
    graph: {strategy: spatial, max_hop: 1, dilation: 1, temporal_window: 9}
    train: {epochs, batch_size, optimizer: {...}, scheduler: {...}, seed, ...}

A file may start from another one with ``base: other.yaml`` and list only what it changes.
The result is checked against the schema (:mod:`pyg_action.engine.schema`) before anything
loads: unknown keys and wrong values are errors naming their dotted key.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from ..models import quick_config
from .schema import ConfigError, GraphSection, TrainSection, validate_config

#: Defaults of every section: those of the schema (:mod:`pyg_action.engine.schema`).
DEFAULTS: dict[str, Any] = {
    "model": {"name": "stgcn"},
    "data": None,
    "graph": GraphSection().model_dump(),
    "train": TrainSection().model_dump(),
}


def merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Recursive dict merge; ``update`` wins. Returns a new dict."""
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


#: One override: ``"a.b.c=value"`` (the value parsed as YAML, as ``--set`` takes it) or a
#: ``(dotted key, value)`` pair whose value is used as it is (a list or mapping included).
Override = str | tuple[str, Any]


def parse_override(assignment: str) -> tuple[str, Any]:
    """The dotted key and the YAML-parsed value of one ``a.b.c=value`` override."""
    if "=" not in assignment:
        raise ConfigError(f"--set {assignment}: not of the form key=value")
    key, raw = assignment.split("=", 1)
    try:
        return key.strip(), yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(
            f"--set {assignment}: the value {raw!r} is not valid YAML ({problem})"
        ) from None


def assign(config: dict[str, Any], key: str, value: Any) -> None:
    """Set the dotted ``key`` of ``config`` to (a copy of) ``value`` in place, creating the
    sections on the way; the value replaces what was there (lists and mappings included)."""
    parts = key.split(".")
    node = config
    for part in parts[:-1]:
        if node.get(part) is None:
            node[part] = {}
        if not isinstance(node[part], dict):
            raise ValueError(f"override {key!r}: {part!r} is not a section")
        node = node[part]
    node[parts[-1]] = copy.deepcopy(value)


def apply_override(config: dict[str, Any], override: Override) -> None:
    """Apply one override (``a.b.c=value`` or a ``(key, value)`` pair) in place."""
    key, value = parse_override(override) if isinstance(override, str) else override
    assign(config, key, value)


def describe_override(override: Override) -> str:
    """An override as ``key=value`` text (a pair's value written as JSON)."""
    if isinstance(override, str):
        return override
    key, value = override
    return f"{key}={json.dumps(value)}"


def read_config_file(path: str | Path, _chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The sections of a YAML config file, with its ``base`` file merged underneath.

    ``base: other.yaml`` (a path relative to the file) makes the file a set of changes to
    another config: mappings merge key by key, anything else (lists included) is replaced.
    Bases may chain; a cycle is an error.
    """
    path = Path(path).resolve()
    if path in _chain:
        cycle = " -> ".join(str(p) for p in (*_chain[_chain.index(path) :], path))
        raise ValueError(f"config {_chain[0]}: base files form a cycle: {cycle}")
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read config {path}: {exc}") from exc
    if not isinstance(loaded, Mapping):
        raise ValueError(f"config {path} must be a mapping of sections")
    loaded = dict(loaded)
    base = loaded.pop("base", None)
    if base is None:
        return loaded
    if not isinstance(base, str):
        raise ValueError(f"config {path}: base must be a file path, got {base!r}")
    base_path = path.parent / base
    if not base_path.is_file():
        raise ValueError(f"config {path}: its base file {base_path} does not exist")
    return merge(read_config_file(base_path, (*_chain, path)), loaded)


def _quick_model_options(
    model: dict[str, Any], quick_model: Mapping[str, Any], keys: Iterable[str]
) -> dict[str, Any]:
    """The model section with the quick recipe's options only while its variant is kept.

    A quick recipe's model options size one preset (e.g. ViG's ``tiny`` for 8x8 digits);
    when ``--set model.variant=...`` names another preset they would override it, so they
    are dropped and the named variant builds exactly as defined. The user's own
    ``--set model.<key>=...`` options stay.
    """
    variant = model.get("variant")
    if variant is None or variant == quick_model.get("variant"):
        return model
    explicit = set()
    for key in keys:
        parts = key.split(".")
        if len(parts) > 1 and parts[0] == "model":
            explicit.add(parts[1])
    return {
        key: value
        for key, value in model.items()
        if key in ("name", "variant") or key in explicit or key not in quick_model
    }


def load_config(
    path: str | Path | None = None,
    overrides: Iterable[Override] = (),
    model: str | None = None,
) -> dict[str, Any]:
    """Defaults, then the YAML file (over its ``base``), then ``--model``, then the overrides
    in order (``--set`` text or ``(key, value)`` pairs, see :data:`Override`); checked against
    the schema (:class:`~pyg_action.engine.schema.ConfigError` otherwise).

    Without a config file, the model's quick recipe (its embedded dataset and a CPU-sized
    schedule, see :func:`~pyg_action.models.quick_config`) is merged in first; its data
    options apply only while the data stays the model's embedded dataset, and its model
    options only while ``model.variant`` stays the recipe's.
    """
    config = copy.deepcopy(DEFAULTS)
    quick_model: dict[str, Any] | None = None
    if path is None:
        name = model or config["model"]["name"]
        config = merge(config, {"model": {"name": name}})
        quick = quick_config(name)
        quick_model = quick.get("model", {})
        config = merge(config, {k: v for k, v in quick.items() if k != "data"})
        config["data"] = {}
    else:
        config = merge(config, read_config_file(path))
    if model is not None and model != config["model"]["name"]:
        config["model"] = {"name": model}
    overrides = list(overrides)
    pairs = [parse_override(o) if isinstance(o, str) else o for o in overrides]
    for pair in pairs:
        apply_override(config, pair)
    if quick_model is not None:
        config["model"] = _quick_model_options(config["model"], quick_model, dict(pairs))
    data = config.get("data") or {}
    default = quick_config(config["model"]["name"])["data"]
    if data.get("name", default["name"]) == default["name"]:
        # the model's own dataset (with its quick options unless a file set them)
        config["data"] = merge(default if path is None else {"name": default["name"]}, data)
    source = f"config {path}" if path is not None else "config"
    given = " ".join(describe_override(o) for o in overrides)
    validate_config(config, source + (f" with --set {given}" if given else ""))
    return config
