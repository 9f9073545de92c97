"""Weight conversion between the dense (official) ST-GCN and the sparse one."""

from __future__ import annotations

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
