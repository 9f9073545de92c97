"""Weight conversion from the dense (official) models to the sparse ones."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping

import torch
from torch import Tensor

from ..layouts.partitions import LayoutGraph


def sparse_from_dense(dense_state: dict[str, Tensor], graph: LayoutGraph) -> dict[str, Tensor]:
    """Map a dense / official ST-GCN ``state_dict`` to :class:`~pyg_action.models.STGCN`'s.

    * ``gcn.conv`` ``(K*C, C_in, 1, 1)`` -> ``gcn.lin`` ``(K*C, C_in)`` (same k-major order);
    * ``tcn.2`` ``(C, C, Γ, 1)`` -> ``tcn.weight`` ``(C, C, Γ)``;
    * ``edge_importance.i`` ``(K, V, V)`` -> ``gcn.importance`` at each layout edge
      ``(type, src, dst)`` of ``graph``;
    * BatchNorms, residual and classifier are reshaped where needed.
    """
    src = torch.from_numpy(graph.src)
    dst = torch.from_numpy(graph.dst)
    kind = torch.from_numpy(graph.edge_type)
    out: dict[str, Tensor] = {}
    for name, value in dense_state.items():
        if name == "A":
            continue
        parts = name.split(".")
        if parts[0] == "data_bn":
            out["data_norm.norm." + ".".join(parts[1:])] = value
        elif parts[0] == "edge_importance":
            out[f"blocks.{parts[1]}.gcn.importance"] = value[kind, src, dst]
        elif parts[0] == "fcn":
            out["classifier." + parts[1]] = value.flatten(1) if parts[1] == "weight" else value
        elif parts[0] == "st_gcn_networks":
            out.update(_block_entry(f"blocks.{parts[1]}", parts[2:], value))
        else:
            raise KeyError(f"unexpected dense ST-GCN parameter {name!r}")
    return out


def _block_entry(prefix: str, parts: list[str], value: Tensor) -> dict[str, Tensor]:
    module, leaf = ".".join(parts[:-1]), parts[-1]
    if module == "gcn.conv":
        return {f"{prefix}.gcn.lin.{leaf}": value.flatten(1) if leaf == "weight" else value}
    if module == "tcn.0":
        return {f"{prefix}.norm_gcn.{leaf}": value}
    if module == "tcn.2":
        return {f"{prefix}.tcn.{leaf}": value[..., 0] if leaf == "weight" else value}
    if module == "tcn.3":
        return {f"{prefix}.norm_tcn.{leaf}": value}
    if module == "residual.0":
        return {f"{prefix}.residual.0.{leaf}": value.flatten(1) if leaf == "weight" else value}
    if module == "residual.1":
        return {f"{prefix}.residual.1.{leaf}": value}
    raise KeyError(f"unexpected dense ST-GCN block parameter {module}.{leaf}")


_PYSKL_BLOCK = re.compile(r"backbone\.gcn\.(\d+)\.(.+)")


def _split_blocks(
    state: Mapping[str, Tensor],
    renames: Mapping[str, str],
    block: re.Pattern[str],
    first_block: int,
    what: str,
) -> tuple[dict[str, Tensor], dict[int, dict[str, Tensor]]]:
    """An official state dict (``module.`` prefixes dropped) split into the tensors renamed by
    prefix (``renames``: official prefix -> ours) and every block's entries by block index
    (``block`` matches ``<index>`` and ``<rest>``; indices counted from ``first_block``).

    Raises:
        KeyError: for a name neither matches (the message says ``what`` it was read as).
    """
    out: dict[str, Tensor] = {}
    blocks: dict[int, dict[str, Tensor]] = defaultdict(dict)
    for raw, value in state.items():
        name = raw.removeprefix("module.")
        prefix = next((p for p in renames if name.startswith(p)), None)
        if prefix is not None:
            out[renames[prefix] + name.removeprefix(prefix)] = value
        elif match := block.fullmatch(name):
            blocks[int(match.group(1)) - first_block][match.group(2)] = value
        else:
            raise KeyError(f"unexpected {what} parameter {raw!r}")
    return out, blocks


def stgcnpp_from_pyskl(state: dict[str, Tensor], adjacency: Tensor) -> dict[str, Tensor]:
    """Map a pyskl ``stgcn++`` ``state_dict`` (or
    :class:`~pyg_action.models.dense_stgcnpp.DenseSTGCNPP`'s) to
    :class:`~pyg_action.models.stgcnpp.STGCNPP`'s.

    Args:
        state: The checkpoint's ``state_dict`` (``backbone.*`` and ``cls_head.*`` keys; a
            ``module.`` prefix of a data-parallel model is accepted).
        adjacency: ``(K, V, V)`` the sparse model's layout adjacency (``adjacency_tensor`` of
            its layout and strategy): the learned ``A`` becomes the offset ``A - adjacency``.

    * ``gcn.conv`` ``(K C, C_in, 1, 1)`` -> ``gcn.lin`` ``(K C, C_in)``;
    * ``gcn.A`` -> ``gcn.offset``; ``gcn.bn`` -> ``norm_gcn``; ``gcn.down.{0,1}`` ->
      ``gcn_residual.{0,1}``;
    * the opening 1x1 convolutions and batch-norms of the temporal and max-pool branches
      (``tcn.branches.b.{0,1}``) -> one concatenated ``tcn.reduce`` / ``tcn.reduce_norm``;
      ``tcn.branches.b.3.conv`` -> ``tcn.convs.b``; the last (1x1) branch -> ``tcn.point``;
      ``tcn.transform.{0,2}`` -> ``tcn.transform.{0,2}``; ``tcn.bn`` -> ``norm_tcn``;
    * ``residual.{conv,bn}`` -> ``residual.{0,1}``; ``data_bn`` -> ``data_norm.norm``;
      ``cls_head.fc_cls`` -> ``classifier``.

    Raises:
        KeyError: for a parameter the layout does not know (named in the message).
    """
    renames = {"backbone.data_bn.": "data_norm.norm.", "cls_head.fc_cls.": "classifier."}
    out, blocks = _split_blocks(state, renames, _PYSKL_BLOCK, 0, "pyskl ST-GCN++")
    for i, entries in sorted(blocks.items()):
        out.update(_stgcnpp_block(f"blocks.{i}", entries, adjacency))
    return out


def _pointwise(value: Tensor) -> Tensor:
    """A ``(C_out, C_in, 1, 1)`` convolution kernel as a linear weight (other tensors as they
    are)."""
    return value.flatten(1) if value.dim() == 4 else value


def _block_parts(
    prefix: str,
    entries: Mapping[str, Tensor],
    renames: Mapping[str, str],
    groups: tuple[str, ...],
    what: str,
) -> tuple[dict[str, Tensor], dict[str, dict[int, dict[str, Tensor]]]]:
    """One official block's entries split in two: those renamed by prefix (``renames``:
    official prefix -> ours under ``prefix``; 1x1 kernels as linear weights, :func:`_pointwise`)
    and those of the indexed sub-modules under each of ``groups`` (``<group><index>.<rest>``),
    by group and index, for the caller to merge.

    Raises:
        KeyError: for a name neither matches (the message says ``what`` it was read as).
    """
    out: dict[str, Tensor] = {}
    grouped: dict[str, dict[int, dict[str, Tensor]]] = {g: defaultdict(dict) for g in groups}
    for name, value in entries.items():
        group = next((g for g in groups if name.startswith(g)), None)
        if group is not None:
            index, rest = name.removeprefix(group).split(".", 1)
            grouped[group][int(index)][rest] = value
            continue
        old = next((o for o in renames if name.startswith(o)), None)
        if old is None:
            raise KeyError(f"unexpected {what} block parameter {prefix}: {name!r}")
        out[f"{prefix}.{renames[old]}{name.removeprefix(old)}"] = _pointwise(value)
    return out, grouped


def _stgcnpp_block(prefix: str, entries: dict[str, Tensor], adjacency: Tensor) -> dict[str, Tensor]:
    renames = {
        "gcn.conv.": "gcn.lin.",
        "gcn.bn.": "norm_gcn.",
        "gcn.down.": "gcn_residual.",
        "tcn.transform.": "tcn.transform.",
        "tcn.bn.": "norm_tcn.",
        "residual.conv.": "residual.0.",
        "residual.bn.": "residual.1.",
    }
    others = {name: value for name, value in entries.items() if name != "gcn.A"}
    out, groups = _block_parts(prefix, others, renames, ("tcn.branches.",), "pyskl ST-GCN++")
    if "gcn.A" in entries:  # the learned adjacency becomes the offset from the layout's
        learned = entries["gcn.A"]
        out[f"{prefix}.gcn.offset"] = learned - adjacency.to(learned.dtype)
    out.update(_stgcnpp_branches(f"{prefix}.tcn", groups["tcn.branches."]))
    return out


def _stgcnpp_branches(prefix: str, branches: dict[int, dict[str, Tensor]]) -> dict[str, Tensor]:
    """The multi-scale branches: dilated ones (``b.3.conv``), then max-pool, then the 1x1."""
    order = sorted(branches)
    if not order:
        return {}
    *opened, last = order
    out = {f"{prefix}.point.{leaf}": _pointwise(v) for leaf, v in branches[last].items()}
    for leaf in ("weight", "bias"):
        if f"0.{leaf}" not in branches[opened[0]]:
            continue
        out[f"{prefix}.reduce.{leaf}"] = torch.cat(
            [_pointwise(branches[b][f"0.{leaf}"]) for b in opened]
        )
    for leaf in ("weight", "bias", "running_mean", "running_var"):
        if f"1.{leaf}" in branches[opened[0]]:  # (a gradient dict has no running statistics)
            out[f"{prefix}.reduce_norm.{leaf}"] = torch.cat(
                [branches[b][f"1.{leaf}"] for b in opened]
            )
    if "1.num_batches_tracked" in branches[opened[0]]:  # equal in every branch
        out[f"{prefix}.reduce_norm.num_batches_tracked"] = branches[opened[0]][
            "1.num_batches_tracked"
        ]
    convs = [b for b in opened if "3.conv.weight" in branches[b]]
    for k, b in enumerate(convs):
        out[f"{prefix}.convs.{k}.weight"] = branches[b]["3.conv.weight"][..., 0]
        out[f"{prefix}.convs.{k}.bias"] = branches[b]["3.conv.bias"]
    return out


_OFFICIAL_CTRGCN_BLOCK = re.compile(r"l(\d+)\.(.+)")
_INPUT_BRANCH_BLOCK = re.compile(r"(?:module\.)?input(\d+)_l(\d+)\.(.+)")
_BN_LEAVES = ("weight", "bias", "running_mean", "running_var")


def ctrgcn_from_official(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """Map an official CTR-GCN ``state_dict`` (or
    :class:`~pyg_action.models.dense_ctrgcn.DenseCTRGCN`'s) to
    :class:`~pyg_action.models.ctrgcn.CTRGCN`'s.

    * ``l{i}`` -> ``blocks.{i-1}``; ``gcn1.PA`` -> ``gcn.adjacency``, ``gcn1.alpha`` ->
      ``gcn.alpha``;
    * ``gcn1.convs.k.conv1`` and ``conv2`` of all partitions -> one ``gcn.relation`` map (every
      ``conv1`` then every ``conv2``), ``conv3`` -> ``gcn.value``, ``conv4`` ->
      ``gcn.expand_weight`` / ``gcn.expand_bias``;
    * ``gcn1.bn`` -> ``norm_gcn``, ``gcn1.down.{0,1}`` -> ``gcn_residual.{0,1}``;
    * ``tcn1.branches``: the opening 1x1 maps and batch-norms of the dilated and max-pool
      branches -> ``tcn.reduce`` / ``tcn.reduce_norm``; the dilated convolutions -> ``tcn.convs``;
      the 1x1 branch -> ``tcn.point``; every branch's closing batch-norm -> ``tcn.post_norm``;
    * ``residual.{conv,bn}`` -> ``residual.{0,1}``; ``data_bn`` -> ``person_norm.norm``;
      ``fc`` -> ``classifier``;
    * the dense reference's input branches (not in the official model): ``input{s}_l{i}`` ->
      ``branches.{s-1}.{i-1}``, the shared blocks ``l{i}`` -> ``blocks.{i-1-d}`` after ``d``
      blocks per branch.

    A ``module.`` prefix (data-parallel training) is accepted.

    Raises:
        KeyError: for a parameter this layout does not know (named in the message).
    """
    branches: dict[tuple[int, int], dict[str, Tensor]] = defaultdict(dict)
    shared: dict[str, Tensor] = {}
    for name, value in state.items():
        if match := _INPUT_BRANCH_BLOCK.fullmatch(name):
            stream, block, rest = match.groups()
            branches[int(stream) - 1, int(block) - 1][rest] = value
        else:
            shared[name] = value
    depth = 1 + max((block for _, block in branches), default=-1)
    renames = {"data_bn.": "person_norm.norm.", "fc.": "classifier."}
    out, blocks = _split_blocks(shared, renames, _OFFICIAL_CTRGCN_BLOCK, 1 + depth, "CTR-GCN")
    for (stream, block), entries in sorted(branches.items()):
        out.update(_ctrgcn_block(f"branches.{stream}.{block}", entries))
    for i, entries in sorted(blocks.items()):
        out.update(_ctrgcn_block(f"blocks.{i}", entries))
    return out


def _ctrgcn_block(prefix: str, entries: dict[str, Tensor]) -> dict[str, Tensor]:
    renames = {
        "gcn1.PA": "gcn.adjacency",
        "gcn1.alpha": "gcn.alpha",
        "gcn1.bn.": "norm_gcn.",
        "gcn1.down.": "gcn_residual.",
        "residual.conv.": "residual.0.",
        "residual.bn.": "residual.1.",
    }
    groups = ("gcn1.convs.", "tcn1.branches.")
    out, parts = _block_parts(prefix, entries, renames, groups, "CTR-GCN")
    out.update(_ctrgcn_partitions(f"{prefix}.gcn", parts["gcn1.convs."]))
    out.update(_ctrgcn_branches(f"{prefix}.tcn", parts["tcn1.branches."]))
    return out


def _ctrgcn_partitions(prefix: str, partitions: dict[int, dict[str, Tensor]]) -> dict[str, Tensor]:
    order = [partitions[k] for k in sorted(partitions)]
    if not order:
        return {}
    out: dict[str, Tensor] = {}
    for leaf in ("weight", "bias"):
        if f"conv1.{leaf}" in order[0]:
            out[f"{prefix}.relation.{leaf}"] = torch.cat(
                [_pointwise(p[f"conv{j}.{leaf}"]) for j in (1, 2) for p in order]
            )
        if f"conv3.{leaf}" in order[0]:
            out[f"{prefix}.value.{leaf}"] = torch.cat(
                [_pointwise(p[f"conv3.{leaf}"]) for p in order]
            )
    if "conv4.weight" in order[0]:
        out[f"{prefix}.expand_weight"] = torch.stack([p["conv4.weight"].flatten(1) for p in order])
    if "conv4.bias" in order[0]:
        out[f"{prefix}.expand_bias"] = torch.stack([p["conv4.bias"] for p in order])
    return out


def _ctrgcn_branches(prefix: str, branches: dict[int, dict[str, Tensor]]) -> dict[str, Tensor]:
    """Dilated branches (``b.3.conv``, ``b.3.bn``), the max-pool branch (closing ``b.4``) and
    the 1x1 branch (``b.0``, ``b.1``), in that order."""
    order = [branches[b] for b in sorted(branches)]
    if not order:
        return {}
    *opened, point = order
    dilated = [b for b in opened if "3.conv.weight" in b or "3.conv.bias" in b]
    pooled = opened[len(dilated)]
    out = {f"{prefix}.point.{leaf}": _pointwise(v) for leaf, v in point.items() if leaf[0] == "0"}
    out = {k.replace(".point.0.", ".point."): v for k, v in out.items()}
    closing = [*(("3.bn.", b) for b in dilated), ("4.", pooled), ("1.", point)]
    for leaf in (*_BN_LEAVES, "num_batches_tracked"):
        if f"1.{leaf}" not in opened[0]:
            continue
        if leaf == "num_batches_tracked":  # equal in every branch
            out[f"{prefix}.reduce_norm.{leaf}"] = opened[0][f"1.{leaf}"]
            out[f"{prefix}.post_norm.{leaf}"] = point[f"1.{leaf}"]
            continue
        out[f"{prefix}.reduce_norm.{leaf}"] = torch.cat([b[f"1.{leaf}"] for b in opened])
        out[f"{prefix}.post_norm.{leaf}"] = torch.cat([b[f"{p}{leaf}"] for p, b in closing])
    for leaf in ("weight", "bias"):
        if f"0.{leaf}" in opened[0]:
            out[f"{prefix}.reduce.{leaf}"] = torch.cat([_pointwise(b[f"0.{leaf}"]) for b in opened])
        for k, b in enumerate(dilated):
            if f"3.conv.{leaf}" in b:
                value = b[f"3.conv.{leaf}"]
                out[f"{prefix}.convs.{k}.{leaf}"] = value[..., 0] if leaf == "weight" else value
    return out
