"""The config schema: unknown keys with the nearest valid one, wrong values by dotted key,
the shipped defaults and the documented tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyg_action.engine.config import DEFAULTS, load_config
from pyg_action.engine.schema import ConfigError, schema_markdown, validate_config
from pyg_action.layouts.partitions import STRATEGIES

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("trian.epochs=3", "trian.epochs: unknown key; did you mean 'train.epochs'?"),
        ("train.optimiser.lr=0.1", "did you mean 'train.optimizer.lr'?"),
        ("model.dropuot=0.1", "model.dropuot: unknown key; did you mean 'model.dropout'?"),
        ("data.nmu_samples=3", "did you mean 'data.num_samples'?"),
        ("model.channels=64", "model.channels:"),
        ("train.scheduler=cosine", "train.scheduler:"),
        ("train.scheduler.name=cosin", "train.scheduler.name:"),
        ("train.epochs=ten", "train.epochs: Input should be a valid integer"),
        ("train.batch_size=8.5", "train.batch_size: Input should be a valid integer"),
        ("train.epochs=0", "train.epochs: Input should be greater than 0"),
        ("train.sam_rho=-0.1", "train.sam_rho: Input should be greater than or equal to 0"),
        ("train.weight_gradient=fast", "train.weight_gradient:"),
        ("graph.strategy=spatiall", "graph.strategy:"),
        ("model.name=stgnc", "unknown model 'stgnc'; did you mean 'stgcn'"),
        ("data.name=kinetic", "data.name: unknown data 'kinetic'; did you mean 'kinetics'?"),
        ("train.epochs=[1", "--set train.epochs=[1: the value '[1' is not valid YAML"),
        ("train.epochs", "--set train.epochs: not of the form key=value"),
    ],
)
def test_bad_overrides_are_named_by_their_dotted_key(override, message):
    with pytest.raises(ValueError) as caught:
        load_config(None, [override], model="stgcn")
    assert message in str(caught.value)


def test_a_file_with_a_typo_is_named(tmp_path):
    config = tmp_path / "typo.yaml"
    config.write_text("model: {name: stgcn}\ntrain: {epochs: 3, batchsize: 4}\n")
    with pytest.raises(
        ConfigError,
        match=r"typo\.yaml.*train\.batchsize: unknown key; did you mean 'train\.batch_size'",
    ):
        load_config(config)


def test_defaults_and_quick_configs_validate():
    validate_config({**DEFAULTS, "data": {"name": "synthetic"}})
    for model in ("stgcn", "shiftgcn", "stgcnpp", "ctrgcn", "vig", "vig_graph"):
        validate_config(load_config(None, model=model))


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_partition_strategy_of_the_layouts_is_a_valid_graph_strategy(strategy):
    config = load_config(None, [f"graph.strategy={strategy}"], model="stgcn")
    assert config["graph"]["strategy"] == strategy


def test_the_default_weight_gradient_is_a_fixed_method():
    assert load_config(None, model="stgcn")["train"]["weight_gradient"] == "onednn"


def test_the_documented_schema_is_current():
    text = DOCS.read_text(encoding="utf-8")
    start = text.index("<!-- schema:start -->\n") + len("<!-- schema:start -->\n")
    end = text.index("<!-- schema:end -->")
    assert text[start:end] == schema_markdown(), "regenerate docs/configuration.md's tables"
