"""Dense ViG reference: the image classifier in the official formulation, ``(B, C, H, W)``.

Module for module the official isotropic and pyramid ViG: the convolutional stem and learned
position embedding of :class:`~pyg_action.models.vig.ViG`, blocks of
:class:`~pyg_action.nn.dense.vig.DenseGrapher` (1×1 ``Conv2d`` fc, dense dilated kNN on
``(B, C, H W, 1)``, ``MRConv2d`` as a grouped 1×1 convolution, fc) and
:class:`~pyg_action.nn.dense.vig.DenseFFN`, global average pooling and a head of 1×1
convolutions. It takes the same options as :class:`~pyg_action.models.vig.ViG` and its
parameters carry the same names, so :func:`dense_from_sparse` copies a sparse model's weights
(linear weights ``(C_out, C_in)`` become 1×1 convolution weights ``(C_out, C_in, 1, 1)``).

It exists to check the sparse model (parity and operator-count tests) and to time it against
the official formulation (:func:`pyg_action.bench.vig.benchmark_models`).
"""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Data

from ..nn.dense.vig import DenseFFN, DenseGrapher, load_sparse_state
from ..nn.vig_conv import activation
from .vig import VARIANTS, ViG


class DenseViGBlock(nn.Module):
    """A :class:`~pyg_action.nn.dense.vig.DenseGrapher` followed by a
    :class:`~pyg_action.nn.dense.vig.DenseFFN`; arguments as
    :class:`~pyg_action.models.vig.ViGBlock`."""

    def __init__(self, channels: int, ffn_ratio: int = 4, **grapher: Any) -> None:
        super().__init__()
        self.grapher = DenseGrapher(channels, **grapher)
        self.ffn = DenseFFN(
            channels,
            ffn_ratio * channels,
            grapher.get("act", "gelu"),
            grapher.get("norm", "batch"),
            grapher.get("drop_path", 0.0),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.ffn(self.grapher(x))


def dense_classifier(
    in_channels: int, num_classes: int, hidden: int | None, act: str, dropout: float
) -> nn.Module:
    """The official prediction head on ``(B, C, 1, 1)``: 1×1 convolutions in the layout of
    :func:`pyg_action.models.vig.classifier` (no BatchNorm, as there)."""
    if not hidden:
        return nn.Sequential(nn.Dropout(dropout), nn.Conv2d(in_channels, num_classes, 1))
    return nn.Sequential(
        nn.Conv2d(in_channels, hidden, 1),
        activation(act),
        nn.Dropout(dropout),
        nn.Conv2d(hidden, num_classes, 1),
    )


class DenseViG(ViG):
    r"""The official dense ViG image classifier; options as :class:`~pyg_action.models.vig.ViG`.

    Shapes:
        - **input:** a batch with ``image`` :math:`(B, C_{in}, H, W)`, or that tensor
        - **output:** logits :math:`(B, \text{num_classes})`
    """

    block = DenseViGBlock

    @staticmethod
    def make_head(
        in_channels: int, num_classes: int, hidden: int | None, act: str, dropout: float
    ) -> nn.Module:
        return dense_classifier(in_channels, num_classes, hidden, act, dropout)

    def forward_features(self, batch: Data | Tensor) -> Tensor:
        """Pooled features :math:`(B, C_{last}, 1, 1)`."""
        x = self.embed(batch)
        for downsample, blocks in zip(self.downsamples, self.stages, strict=True):
            x = downsample(x)
            for block in blocks:  # type: ignore[attr-defined]
                x = block(x)
        return F.adaptive_avg_pool2d(x, 1)

    def forward(self, batch: Data | Tensor) -> Tensor:
        return self.head(self.forward_features(batch)).flatten(1)


def dense_vig(
    num_classes: int, in_channels: int, variant: str = "tiny", **options: Any
) -> DenseViG:
    """A :class:`DenseViG` preset (:data:`pyg_action.models.vig.VARIANTS`) with ``options`` on
    top, as :func:`pyg_action.models.vig.build_vig` builds the sparse one."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown ViG variant {variant!r}; choose from {sorted(VARIANTS)}")
    return DenseViG(num_classes, in_channels, **{**VARIANTS[variant], **options})


def dense_from_sparse(dense: DenseViG, sparse: nn.Module) -> DenseViG:
    """Copy the parameters and buffers of a sparse :class:`~pyg_action.models.vig.ViG` into
    ``dense`` (built with the same options) and return ``dense``."""
    load_sparse_state(dense, sparse)
    return dense
