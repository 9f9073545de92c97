r"""Vision GNN models: ViG on images (isotropic and pyramid) and on any graph.

From `"Vision GNN: An Image is Worth Graph of Nodes" <https://arxiv.org/abs/2206.00272>`_.
Both models stack ViG blocks (:class:`~pyg_action.nn.vig_conv.Grapher` then
:class:`~pyg_action.nn.vig_conv.FFN`) on node features ``(N, C)``; the graph of every Grapher
is the dilated kNN graph of its input features, rebuilt at every block.

* :class:`ViG` (``--model vig``) reads ``batch.image`` ``(B, C, H, W)`` (see
  :mod:`pyg_action.data.images`): a convolutional stem cuts it into an
  :math:`H/p \times W/p` grid of patch nodes (``patch_size`` :math:`p`, a power of two;
  :math:`p = 1` makes every pixel a node), adds a learned position embedding, runs the
  blocks (pyramid variants: four stages with a stride-2 convolution between them, neighbours
  drawn from an average-pooled grid and a relative-position distance bias), averages the
  nodes of each image and classifies.
* :class:`GraphViG` (``--model vig_graph``) reads ``batch.x`` ``(N, F)`` and ``batch.batch``:
  a linear stem, the blocks, per-graph pooling, a classifier. With ``input_graph=True`` the
  first Grapher aggregates over the batch's own ``edge_index`` (when it has one) instead of a
  kNN graph; every later Grapher builds its kNN graph.

Schedules follow the official code: the :math:`i`-th of :math:`n` blocks uses
:math:`k_i = \lfloor k + i\,k/(n-1) \rfloor` neighbours (from :math:`k` to :math:`2k`),
dilation :math:`\min(\lfloor i/4 \rfloor + 1, d_{max})` with :math:`d_{max}` the smallest
candidate count of a stage divided by :math:`\max_i k_i`, and stochastic depth growing
linearly to ``drop_path``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.nn import global_add_pool, global_max_pool, global_mean_pool

from ..nn.dropout import Dropout
from ..nn.linear_map import Linear
from ..nn.vig_conv import FFN, Grapher, activation, pointwise
from .registry import register_model
from .skeleton_classifier import at_least_fp32

#: Preset options of ``--model vig``; explicit options override them.
VARIANTS: dict[str, dict[str, Any]] = {
    "tiny": {  # 8x8 digits: a 4x4 grid of 2x2 patches; ~1-2 min per 40 epochs on 2 cores
        "channels": 64,
        "depth": 4,
        "k": 4,
        "patch_size": 2,
        "img_size": 8,
        "head_channels": 128,
    },
    "ti": {"channels": 192, "depth": 12},
    "s": {"channels": 320, "depth": 16},
    "b": {"channels": 640, "depth": 16},
    "pyramid_ti": {"channels": [48, 96, 240, 384], "depth": [2, 2, 6, 2]},
    "pyramid_s": {"channels": [80, 160, 400, 640], "depth": [2, 2, 6, 2]},
    "pyramid_m": {"channels": [96, 192, 384, 768], "depth": [2, 2, 16, 2]},
    "pyramid_b": {"channels": [128, 256, 512, 1024], "depth": [2, 2, 18, 2]},
}
for _name, _preset in VARIANTS.items():
    if _name.startswith("pyramid"):
        _preset.update(patch_size=4, reduce_ratios=[4, 2, 1, 1], relative_pos=True)

POOLS = {"mean": global_mean_pool, "max": global_max_pool, "sum": global_add_pool}


def block_schedule(
    depth: int, k: int, max_candidates: int | None, use_dilation: bool = True
) -> list[tuple[int, int]]:
    """``(k_i, dilation_i)`` of each of ``depth`` blocks (see the module doc).

    ``max_candidates``: the smallest number of kNN candidates of any block (``None``: no
    dilation limit).
    """
    ks = [int(v) for v in torch.linspace(k, 2 * k, depth).tolist()]
    if not use_dilation or not ks:
        return [(k_i, 1) for k_i in ks]
    limit = math.inf if max_candidates is None else max(1, max_candidates // max(ks))
    return [(k_i, int(min(i // 4 + 1, limit))) for i, k_i in enumerate(ks)]


class ViGBlock(nn.Module):
    """A :class:`~pyg_action.nn.vig_conv.Grapher` followed by an
    :class:`~pyg_action.nn.vig_conv.FFN` with ``ffn_ratio`` times wider hidden layer.

    Keyword arguments other than ``ffn_ratio`` go to the Grapher.
    """

    def __init__(self, channels: int, ffn_ratio: int = 4, **grapher: Any) -> None:
        super().__init__()
        self.grapher = Grapher(channels, **grapher)
        self.ffn = FFN(
            channels,
            ffn_ratio * channels,
            grapher.get("act", "gelu"),
            grapher.get("norm", "batch"),
            grapher.get("drop_path", 0.0),
        )

    def forward(
        self,
        x: Tensor,
        batch: Tensor | None = None,
        edge_index: Tensor | None = None,
        grid: tuple[int, int] | None = None,
    ) -> Tensor:
        x = self.grapher(x, batch, edge_index, grid)
        if grid is not None:  # images of one size: the drop-path groups come from the shape
            return self.ffn(x, num_graphs=x.size(0) // (grid[0] * grid[1]))
        return self.ffn(x, batch)


def classifier(
    in_channels: int, num_classes: int, hidden: int | None, act: str, dropout: float
) -> nn.Module:
    """Linear, activation, dropout, linear (a single linear layer when ``hidden`` is falsy).

    The official head also has a BatchNorm after the first layer; it is left out so that a
    training batch of one sample works.
    """
    if not hidden:
        return nn.Sequential(Dropout(dropout), Linear(in_channels, num_classes))
    return nn.Sequential(
        Linear(in_channels, hidden),
        activation(act),
        Dropout(dropout),
        Linear(hidden, num_classes),
    )


class Stem(nn.Module):
    r"""Convolutional patch embedding: :math:`(B, C_{in}, H, W) \to (B, C, H/p, W/p)`.

    :math:`\log_2 p` stride-2 3×3 convolutions (widths :math:`C/2^{\dots}` doubling up to
    :math:`C`; one stride-1 convolution when :math:`p = 1`), each with BatchNorm and
    activation, then a stride-1 3×3 convolution with BatchNorm, as the official ViG stems
    (:math:`p = 16` isotropic, :math:`p = 4` pyramid).
    """

    def __init__(self, in_channels: int, out_channels: int, patch_size: int, act: str) -> None:
        super().__init__()
        if patch_size < 1 or patch_size & (patch_size - 1):
            raise ValueError(f"patch_size must be a power of two, got {patch_size}")
        steps = max(1, int(math.log2(patch_size)))
        stride = 2 if patch_size > 1 else 1
        layers: list[nn.Module] = []
        width = in_channels
        for i in range(steps):
            out = out_channels // 2 ** (steps - 1 - i)
            layers += [nn.Conv2d(width, out, 3, stride, 1), nn.BatchNorm2d(out), activation(act)]
            width = out
        layers += [nn.Conv2d(width, out_channels, 3, 1, 1), nn.BatchNorm2d(out_channels)]
        self.convs = nn.Sequential(*layers)

    def forward(self, images: Tensor) -> Tensor:
        return self.convs(images)


class ViG(nn.Module):
    r"""Vision GNN image classifier; isotropic with one stage, pyramid with several.

    Args:
        num_classes: Output classes.
        in_channels: Image channels.
        channels: Node width per stage (an int: one stage).
        depth: Blocks per stage (an int: one stage).
        k: Neighbours of the first block (growing to :math:`2k`).
        conv: Graph convolution, ``"mr"``, ``"edge"``, ``"gin"`` or ``"sage"``.
        patch_size: Stem stride :math:`p` (power of two).
        img_size: Image size ``H`` or ``(H, W)`` the position embedding is made for (other
            sizes resample it bilinearly).
        reduce_ratios: Per stage, the pooling ratio of the neighbour grid (default: 1).
        relative_pos: Relative-position bias in the kNN distances.
        use_dilation: Dilation growing with depth (otherwise 1).
        stochastic: Random dilation in training.
        epsilon: Probability of random dilation.
        groups: Channel groups of the graph convolutions.
        act: Activation.
        norm: ``"batch"`` or ``None``.
        bias: Bias in the graph convolutions.
        drop_path: Largest stochastic depth probability.
        dropout: Dropout before the last classifier layer.
        head_channels: Hidden width of the classifier (0: a single linear layer).
        ffn_ratio: FFN hidden width over node width.

    Shapes:
        - **input:** a batch with ``image`` :math:`(B, C_{in}, H, W)`, or that tensor
        - **output:** logits :math:`(B, \text{num_classes})`
    """

    #: The block of every stage; :class:`~pyg_action.models.dense_vig.DenseViG` swaps in the
    #: dense one (same constructor, same parameter names).
    block: type[nn.Module] = ViGBlock

    def __init__(
        self,
        num_classes: int,
        in_channels: int = 3,
        channels: int | Sequence[int] = 192,
        depth: int | Sequence[int] = 12,
        k: int = 9,
        conv: str = "mr",
        patch_size: int = 16,
        img_size: int | Sequence[int] = 224,
        reduce_ratios: Sequence[int] | None = None,
        relative_pos: bool = False,
        use_dilation: bool = True,
        stochastic: bool = False,
        epsilon: float = 0.2,
        groups: int = 4,
        act: str = "gelu",
        norm: str | None = "batch",
        bias: bool = True,
        drop_path: float = 0.0,
        dropout: float = 0.0,
        head_channels: int | None = 1024,
        ffn_ratio: int = 4,
    ) -> None:
        super().__init__()
        widths = [channels] if isinstance(channels, int) else list(channels)
        depths = [depth] * len(widths) if isinstance(depth, int) else list(depth)
        ratios = list(reduce_ratios) if reduce_ratios is not None else [1] * len(widths)
        if not len(widths) == len(depths) == len(ratios):
            raise ValueError("channels, depth and reduce_ratios need one entry per stage")
        height, width = (img_size, img_size) if isinstance(img_size, int) else img_size
        grid = (height // patch_size, width // patch_size)
        self.stem = Stem(in_channels, widths[0], patch_size, act)
        self.pos_embed = nn.Parameter(torch.zeros(1, widths[0], *grid))
        candidates = []
        for s, r in enumerate(ratios):
            if s > 0:  # a stride-2, padding-1 convolution halves the grid, rounding up
                grid = ((grid[0] + 1) // 2, (grid[1] + 1) // 2)
            candidates.append(max(1, grid[0] // r) * max(1, grid[1] // r))
        schedule = block_schedule(sum(depths), k, min(candidates), use_dilation)
        rates = torch.linspace(0, drop_path, sum(depths)).tolist()
        self.downsamples = nn.ModuleList()
        self.stages = nn.ModuleList()
        for s, (c, n, r) in enumerate(zip(widths, depths, ratios, strict=True)):
            self.downsamples.append(
                nn.Identity()
                if s == 0
                else nn.Sequential(nn.Conv2d(widths[s - 1], c, 3, 2, 1), nn.BatchNorm2d(c))
            )
            first = sum(depths[:s])
            self.stages.append(
                nn.ModuleList(
                    self.block(
                        c,
                        ffn_ratio,
                        k=schedule[i][0],
                        dilation=schedule[i][1],
                        conv=conv,
                        act=act,
                        norm=norm,
                        bias=bias,
                        stochastic=stochastic,
                        epsilon=epsilon,
                        groups=groups,
                        reduce_ratio=r,
                        relative_pos=relative_pos,
                        drop_path=rates[i],
                    )
                    for i in range(first, first + n)
                )
            )
        self.head = self.make_head(widths[-1], num_classes, head_channels, act, dropout)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    @staticmethod
    def make_head(
        in_channels: int, num_classes: int, hidden: int | None, act: str, dropout: float
    ) -> nn.Module:
        """The classifier on pooled features (:func:`classifier`)."""
        return classifier(in_channels, num_classes, hidden, act, dropout)

    def embed(self, batch: Data | Tensor) -> Tensor:
        """Stem and position embedding: the first stage's grid :math:`(B, C, H/p, W/p)`."""
        x = self.stem(batch if isinstance(batch, Tensor) else batch.image)
        pos: Tensor = self.pos_embed
        if pos.shape[-2:] != x.shape[-2:]:
            pos = F.interpolate(pos, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return x + pos

    def forward_features(self, batch: Data | Tensor) -> Tensor:
        """Pooled features :math:`(B, C_{last})`."""
        x = self.embed(batch)
        last = len(self.stages) - 1
        for stage, (downsample, blocks) in enumerate(
            zip(self.downsamples, self.stages, strict=True)
        ):
            x = downsample(x)
            b, c, h, w = x.shape
            nodes = x.permute(0, 2, 3, 1).reshape(-1, c)
            for block in blocks:  # type: ignore[attr-defined]
                nodes = block(nodes, grid=(h, w))
            if stage < last:  # back to an image grid for the next strided convolution
                x = nodes.view(b, h, w, c).permute(0, 3, 1, 2)
        return nodes.view(b, h * w, c).mean(dim=1)

    def forward(self, batch: Data | Tensor) -> Tensor:
        return self.head(self.forward_features(batch))


class GraphViG(nn.Module):
    r"""Vision GNN blocks for graph classification on any PyG graphs.

    Args:
        num_classes: Output classes.
        in_channels: Node feature width :math:`F`.
        channels: Node width.
        depth: Number of blocks.
        k: Neighbours of the first block (growing to :math:`2k`; a graph with fewer nodes
            clamps it, see :mod:`pyg_action.nn.knn`).
        conv: Graph convolution, ``"mr"``, ``"edge"``, ``"gin"`` or ``"sage"``.
        input_graph: The first block uses the batch's ``edge_index`` when present.
        dilation: Largest kNN dilation of the schedule (1: none).
        stochastic: Random dilation in training.
        epsilon: Probability of random dilation.
        groups: Channel groups of the graph convolutions.
        act: Activation.
        norm: ``"batch"`` or ``None``.
        bias: Bias in the graph convolutions.
        drop_path: Largest stochastic depth probability (per graph).
        dropout: Dropout before the last classifier layer.
        head_channels: Hidden width of the classifier (0: a single linear layer).
        ffn_ratio: FFN hidden width over node width.
        pool: Per-graph pooling, ``"mean"``, ``"max"`` or ``"sum"``.

    Shapes:
        - **input:** a batch with ``x`` :math:`(N, F)`, ``batch`` :math:`(N,)` and optionally
          ``edge_index`` :math:`(2, E)`
        - **output:** logits :math:`(B, \text{num_classes})`
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        channels: int = 64,
        depth: int = 4,
        k: int = 8,
        conv: str = "mr",
        input_graph: bool = True,
        dilation: int = 1,
        stochastic: bool = False,
        epsilon: float = 0.2,
        groups: int = 4,
        act: str = "gelu",
        norm: str | None = "batch",
        bias: bool = True,
        drop_path: float = 0.0,
        dropout: float = 0.0,
        head_channels: int | None = 128,
        ffn_ratio: int = 4,
        pool: str = "mean",
    ) -> None:
        super().__init__()
        if pool not in POOLS:
            raise ValueError(f"unknown pool {pool!r}; choose from {sorted(POOLS)}")
        self.input_graph = input_graph
        self.pool = POOLS[pool]
        self.stem = pointwise(in_channels, channels, 1, norm, act)
        schedule = block_schedule(depth, k, None, use_dilation=dilation > 1)
        rates = torch.linspace(0, drop_path, depth).tolist()
        self.blocks = nn.ModuleList(
            ViGBlock(
                channels,
                ffn_ratio,
                k=k_i,
                dilation=min(d_i, dilation),
                conv=conv,
                act=act,
                norm=norm,
                bias=bias,
                stochastic=stochastic,
                epsilon=epsilon,
                groups=groups,
                drop_path=rate,
            )
            for (k_i, d_i), rate in zip(schedule, rates, strict=True)
        )
        self.head = classifier(channels, num_classes, head_channels, act, dropout)

    def forward_features(self, batch: Data) -> Tensor:
        """Pooled features :math:`(B, C)`, pooled in fp32 (see
        :meth:`~pyg_action.models.skeleton_classifier.SkeletonClassifier.forward_features`)."""
        x, node_batch = self.stem(batch.x.float()), batch.batch
        edge_index = batch.edge_index if self.input_graph else None
        for block in self.blocks:
            x = block(x, node_batch, edge_index)
            edge_index = None
        return self.pool(at_least_fp32(x), node_batch)

    def forward(self, batch: Data) -> Tensor:
        return self.head(self.forward_features(batch))


#: ``pyg-action train --model vig`` without a config: the recipe of ``configs/vig_digits.yaml``
#: (98.33-98.89 % held-out top-1 on digits over three seeds, about 2 minutes on a CPU).
QUICK_CONFIG: dict[str, Any] = {
    "model": {
        "variant": "tiny",
        "channels": 64,
        "depth": 4,
        "k": 4,
        "patch_size": 2,
        "img_size": 8,
        "conv": "mr",
        "head_channels": 128,
    },
    "data": {"test_ratio": 0.2, "split_seed": 0, "augment": True, "max_shift": 1},
    "train": {
        "epochs": 40,
        "batch_size": 64,
        "eval_batch_size": 256,
        "optimizer": {"name": "adamw", "lr": 0.002, "weight_decay": 0.05},
        "scheduler": {"name": "cosine", "warmup_epochs": 2},
        "label_smoothing": 0.1,
    },
}


@register_model("vig", default_data={"name": "digits"}, quick_config=QUICK_CONFIG, options=ViG)
def build_vig(
    num_classes: int,
    in_channels: int,
    layout: str | None = None,
    variant: str = "tiny",
    **options: Any,
) -> ViG:
    """``--model vig``: a :class:`ViG` preset (:data:`VARIANTS`) with ``options`` on top."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown ViG variant {variant!r}; choose from {sorted(VARIANTS)}")
    return ViG(num_classes, in_channels, **{**VARIANTS[variant], **options})


@register_model("vig_graph", default_data={"name": "digits_points"}, options=GraphViG)
def build_graph_vig(
    num_classes: int, in_channels: int, layout: str | None = None, **options: Any
) -> GraphViG:
    """``--model vig_graph``: a :class:`GraphViG` for graph classification."""
    return GraphViG(num_classes, in_channels, **options)
