"""Count the ATen operators a piece of code dispatches, and flag the value-dependent ones.

On a GPU a training step of a small model is bound by how many kernels the host launches and
by every point where the host must wait for the device. Both can be counted on any machine,
deterministically, by intercepting the dispatcher: every ATen call is one launch (or one
metadata op, such as a view), and some calls cannot even be issued before the device has
answered:

* ``_local_scalar_dense``: ``.item()``, ``int(t)``, ``bool(t)`` — the host reads a device
  value; ``Tensor.tolist()`` and ``Tensor.numpy()`` do the same without passing the dispatcher
  on CPU, so they are counted by wrapping them (as ``"Tensor.tolist"``, ``"Tensor.numpy"``);
* ``nonzero``, ``masked_select``, ``unique``, ``argwhere``, indexing with a boolean mask: the
  output's shape depends on the values;
* ``repeat_interleave`` with a tensor of repeats and no ``output_size``: the same.

Such ops stall the launch queue and break CUDA graphs and ``torch.compile`` graphs. The tests
bound a model's training step by the op count of its dense reference and require zero
value-dependent ops (:func:`count_ops`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

#: Operators whose output shape, or whose very issue, depends on tensor values.
VALUE_DEPENDENT_OPS = frozenset(
    {
        "_local_scalar_dense",
        "nonzero",
        "masked_select",
        "argwhere",
        "unique_consecutive",
        "_unique",
        "_unique2",
        "unique_dim",
    }
)
#: Indexing operators that become value-dependent when an index is a boolean mask.
_MASK_INDEXING_OPS = frozenset({"index", "index_put", "index_put_", "_index_put_impl_"})


@dataclass
class OpCount:
    """What :func:`count_ops` saw.

    Attributes:
        ops: Dispatch count per operator overload (``"aten.mm.default"``).
        value_dependent: The value-dependent calls among them, by operator (a boolean-mask
            index is listed as ``"aten.index.Tensor[mask]"``).
        views: The views among them (``permute``, ``view``, ``as_strided``...): operators that
            make a new header for the same memory and launch no work on any device.
    """

    ops: Counter[str] = field(default_factory=Counter)
    value_dependent: Counter[str] = field(default_factory=Counter)
    views: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        """All dispatched operators."""
        return sum(self.ops.values())

    @property
    def total_views(self) -> int:
        """Dispatched views (the rest, ``total - total_views``, read or write memory)."""
        return sum(self.views.values())

    @property
    def total_value_dependent(self) -> int:
        """Dispatched operators whose shape or issue depends on values."""
        return sum(self.value_dependent.values())

    def summary(self, most: int = 12) -> str:
        """One line: totals, the value-dependent ops and the most frequent ops."""
        common = ", ".join(f"{name} {n}" for name, n in self.ops.most_common(most))
        return (
            f"{self.total} ops, {self.total_value_dependent} value-dependent "
            f"{dict(self.value_dependent)}; most frequent: {common}"
        )


def _is_value_dependent(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    if name in VALUE_DEPENDENT_OPS:
        return True
    if name == "repeat_interleave":
        repeats = args[0] if args else kwargs.get("repeats")
        output_size = kwargs.get("output_size", args[3] if len(args) > 3 else None)
        return isinstance(repeats, torch.Tensor) and output_size is None
    return False


def _is_mask_index(name: str, args: tuple[Any, ...]) -> bool:
    if name not in _MASK_INDEXING_OPS or len(args) < 2:
        return False
    indices = args[1]
    return isinstance(indices, (list, tuple)) and any(
        isinstance(t, torch.Tensor) and t.dtype == torch.bool for t in indices
    )


class _Counter(TorchDispatchMode):
    def __init__(self, result: OpCount) -> None:
        super().__init__()
        self.result = result

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        kwargs = kwargs or {}
        key, name = str(func), func.overloadpacket.__name__
        self.result.ops[key] += 1
        if func.is_view:
            self.result.views[key] += 1
        if _is_value_dependent(name, args, kwargs):
            self.result.value_dependent[key] += 1
        elif _is_mask_index(name, args):
            self.result.value_dependent[f"{key}[mask]"] += 1
        return func(*args, **kwargs)


#: Host reads that CPU tensors serve without dispatching an operator.
_HOST_READS = ("tolist", "numpy")


def count_ops(fn: Callable[[], Any]) -> OpCount:
    """Run ``fn()`` once and count the ATen operators it dispatches (autograd's included).

    Example::

        counts = count_ops(lambda: model(batch).logsumexp(1).sum().backward())
        assert counts.total_value_dependent == 0
    """
    result = OpCount()
    originals = {name: getattr(torch.Tensor, name) for name in _HOST_READS}

    def counted(name: str) -> Callable[..., Any]:
        def read(tensor: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
            result.ops[f"Tensor.{name}"] += 1
            result.value_dependent[f"Tensor.{name}"] += 1
            return originals[name](tensor, *args, **kwargs)

        return read

    try:
        for name in _HOST_READS:
            setattr(torch.Tensor, name, counted(name))
        with _Counter(result):
            fn()
    finally:
        for name, original in originals.items():
            setattr(torch.Tensor, name, original)
    return result


def training_step(
    model: torch.nn.Module,
    inputs: Any,
    labels: torch.Tensor,
    autocast: torch.dtype | None = None,
) -> Callable[[], None]:
    """A training step of ``model`` on ``inputs``, as the benchmarks run it: gradients reset,
    forward (under autocast to ``autocast`` on the labels' device when given), cross-entropy
    loss in fp32, backward; no optimiser."""
    device = labels.device.type

    def step() -> None:
        model.zero_grad(set_to_none=True)
        with torch.autocast(device, dtype=autocast, enabled=autocast is not None):
            logits = model(inputs)
        torch.nn.functional.cross_entropy(logits.float(), labels).backward()

    return step


def training_step_ops(
    model: torch.nn.Module,
    inputs: Any,
    labels: torch.Tensor,
    autocast: torch.dtype | None = None,
) -> OpCount:
    """Ops of one :func:`training_step` (forward, loss, backward; no optimiser), the forward
    under CPU autocast to ``autocast`` when given.

    One untimed step runs first, so that per-shape caches are warm: what is counted is what
    every later step with the same input shapes dispatches.
    """
    step = training_step(model.train(), inputs, labels, autocast)
    step()
    counts = count_ops(step)
    model.zero_grad(set_to_none=True)
    return counts


@dataclass
class SkeletonStep:
    """A training step's inputs for a sparse skeleton model and its dense reference.

    Attributes:
        sparse: The registry's model.
        dense: Its dense reference (the official formulation), with the same options.
        batch: The samples as a batch of skeleton graphs (NTU-25).
        padded: The same samples ``(B, 3, T_max, 25, M)``, zero padded to the longest.
        labels: ``(B,)`` class labels.
    """

    sparse: torch.nn.Module
    dense: torch.nn.Module
    batch: Any
    padded: torch.Tensor
    labels: torch.Tensor

    def to(self, device: torch.device) -> SkeletonStep:
        """All of it on ``device``."""
        return SkeletonStep(
            self.sparse.to(device),
            self.dense.to(device),
            self.batch.to(device),
            self.padded.to(device),
            self.labels.to(device),
        )


def skeleton_step(
    name: str, lengths: list[int], persons: int = 2, num_classes: int = 60, **options: Any
) -> SkeletonStep:
    """Skeleton model ``name`` and its dense reference (both built with ``options``) on random
    samples of ``lengths`` frames, ``persons`` per sample (seeded: the same every call)."""
    from torch_geometric.data import Batch

    from ..graph import SkeletonGraphBuilder
    from ..models import create_model
    from ..models.dense_ctrgcn import DenseCTRGCN
    from ..models.dense_shiftgcn import DenseShiftGCN
    from ..models.dense_stgcn import DenseSTGCN
    from ..models.dense_stgcnpp import DenseSTGCNPP

    dense_models = {
        "stgcn": DenseSTGCN,
        "shiftgcn": DenseShiftGCN,
        "stgcnpp": DenseSTGCNPP,
        "ctrgcn": DenseCTRGCN,
    }
    torch.manual_seed(0)
    builder = SkeletonGraphBuilder("ntu25", edges=False)
    samples = [torch.randn(3, t, 25, persons) for t in lengths]
    batch = Batch.from_data_list([builder(s) for s in samples])
    padded = torch.zeros(len(lengths), 3, max(lengths), 25, persons)
    for i, s in enumerate(samples):
        padded[i, :, : s.shape[1]] = s
    labels = torch.zeros(len(lengths), dtype=torch.long)
    sparse = create_model(name, num_classes=num_classes, **options)
    dense = dense_models[name](num_classes, **options)
    return SkeletonStep(sparse, dense, batch, padded, labels)


def skeleton_step_counts(
    name: str, lengths: list[int], persons: int = 2, num_classes: int = 60
) -> dict[str, Any]:
    """Ops of one training step of skeleton model ``name`` (NTU-25, ``persons`` per sample,
    samples of ``lengths`` frames) and of its dense reference on the batch padded to the
    longest sample."""
    from ..nn.backend import DEVICE_PATH, use_backend

    step = skeleton_step(name, lengths, persons, num_classes)
    with use_backend(**DEVICE_PATH):  # the device path (the CPU defaults differ)
        sparse = training_step_ops(step.sparse, step.batch, step.labels)
    dense = training_step_ops(step.dense, step.padded, step.labels)
    return {"model": name, "lengths": lengths, **_compared(sparse, dense)}


def vig_step_counts(
    variant: str = "ti", batch_size: int = 2, img_size: int = 224
) -> dict[str, Any]:
    """Ops of one training step of the sparse ViG preset ``variant`` and of the dense official
    formulation on the same images."""
    from ..models import create_model
    from ..models.dense_vig import dense_vig

    torch.manual_seed(0)
    images = torch.randn(batch_size, 3, img_size, img_size)
    labels = torch.zeros(batch_size, dtype=torch.long)
    sparse_model = create_model(
        "vig", num_classes=10, in_channels=3, variant=variant, img_size=img_size
    )
    sparse = training_step_ops(sparse_model, images, labels)
    dense = training_step_ops(dense_vig(10, 3, variant, img_size=img_size), images, labels)
    return {"model": f"vig-{variant}", **_compared(sparse, dense)}


def _compared(sparse: OpCount, dense: OpCount) -> dict[str, int]:
    """Totals, views and value-dependent ops of a sparse model's step and its reference's."""
    return {
        f"{form}_{what}": value
        for form, counts in (("sparse", sparse), ("dense", dense))
        for what, value in (
            ("ops", counts.total),
            ("views", counts.total_views),
            ("value_dependent", counts.total_value_dependent),
        )
    }


def _line(model: str, batch: str, row: dict[str, Any]) -> str:
    cells = [
        f"{row[f'{form}_ops']:>6d} {row[f'{form}_ops'] - row[f'{form}_views']:>6d} "
        f"({row[f'{form}_value_dependent']:>2d})"
        for form in ("sparse", "dense")
    ]
    ratio = row["sparse_ops"] / row["dense_ops"]
    work = (row["sparse_ops"] - row["sparse_views"]) / (row["dense_ops"] - row["dense_views"])
    return f"{model:9s} {batch:20s} {cells[0]}   {cells[1]}   {ratio:.2f}  {work:.2f}"


def main() -> None:
    """Print the op counts of the skeleton models' and ViG-Ti's training steps against their
    dense references (``python -m pyg_action.bench.opcount``): all ops, the ops that are not
    views ("work": each reads or writes memory, a kernel on a GPU) and, in brackets, the
    value-dependent ones."""
    print(
        "model     batch                sparse all / work (v.d.)  dense all / work (v.d.)  "
        "ratio  work"
    )
    batches = {"4 x 20 frames": [20] * 4, "20/17/13/18 frames": [20, 17, 13, 18]}
    for name in ("stgcn", "shiftgcn", "stgcnpp", "ctrgcn"):
        for label, lengths in batches.items():
            print(_line(name, label, skeleton_step_counts(name, lengths)))
    print(_line("vig-ti", "2 x 224 x 224", vig_step_counts()))


if __name__ == "__main__":
    main()
