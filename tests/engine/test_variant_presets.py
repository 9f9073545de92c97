"""``--model vig --set model.variant=NAME`` builds exactly the named preset: the quick
recipe's model options (sized for the 8x8 digits) no longer override it."""

from __future__ import annotations

import pytest

from pyg_action.engine.config import load_config
from pyg_action.models import create_model
from pyg_action.models.vig import VARIANTS, ViG


def _parameters(module) -> int:
    return sum(p.numel() for p in module.parameters())


def _from_cli(*overrides: str):
    config = load_config(None, overrides, model="vig")
    options = dict(config["model"])
    return create_model(options.pop("name"), num_classes=1000, in_channels=3, **options)


@pytest.mark.parametrize("variant", ["ti", "pyramid_ti"])
def test_a_named_variant_builds_that_preset(variant):
    model = _from_cli(f"model.variant={variant}")
    assert _parameters(model) == _parameters(ViG(1000, 3, **VARIANTS[variant]))


@pytest.mark.parametrize(("variant", "millions"), [("ti", 7.2), ("pyramid_ti", 10.7)])
def test_named_variants_have_the_published_sizes(variant, millions):
    """ViG-Ti 7.2M and Pyramid ViG-Ti 10.7M parameters (Han et al., 2022, ImageNet head)."""
    assert round(_parameters(_from_cli(f"model.variant={variant}")) / 1e6, 1) == millions


def test_the_quick_variant_and_explicit_options_are_kept():
    quick = load_config(None, [], model="vig")["model"]
    assert quick["variant"] == "tiny" and quick["conv"] == "mr" and quick["channels"] == 64
    config = load_config(None, ["model.variant=ti", "model.depth=2"], model="vig")
    assert config["model"] == {"name": "vig", "variant": "ti", "depth": 2}
