"""Dense einsum / convolution references of every sparse layer, for parity and benchmarks."""

from .stgcn import DenseGraphConv, DenseTemporalConv

__all__ = ["DenseGraphConv", "DenseTemporalConv"]
