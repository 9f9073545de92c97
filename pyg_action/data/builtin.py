"""Imports every shipped dataset module so their ``@register_dataset`` lines run."""

from . import (
    containers,  # noqa: F401  (pyskl, stgcn_arrays)
    datasets,  # noqa: F401  (synthetic, msr_action3d, ntu, kinetics, npz)
    generic_graphs,  # noqa: F401  (graph_npz, pyg_dataset, digits_points)
    images,  # noqa: F401  (digits, images)
)
