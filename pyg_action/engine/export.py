r"""Fixed-size export of the sparse skeleton classifiers to TorchScript and ONNX, and back.

The sparse models (:class:`~pyg_action.models.STGCN`, :class:`~pyg_action.models.ShiftGCN`)
take a PyG batch whose graph depends on every sample's length and person count. An exported
model instead takes one dense tensor of a shape fixed at export time,

.. math::
    x \in \mathbb{R}^{B \times C \times T \times V \times M}
    \;\mapsto\; \text{logits} \in \mathbb{R}^{B \times K},

through :class:`FixedSizeClassifier`, which holds the batch graph of ``B`` samples of ``T``
frames and ``M`` persons as buffers and runs the model's own layers on it. The wrapper is
*traced* (``torch.jit.trace``): Python-level values derived from the graph (node counts, track
lengths, strided frame positions, shift offsets) become constants of the exported program, so
it is correct for exactly that input shape and no other. The TorchScript program is then
*frozen* (:func:`trace_frozen`): weights become constants and whatever depends on them and on
the graph alone is computed once, at export. Every export is checked against the eager model
on a fresh random input (:data:`TOLERANCE`).

ONNX uses the TorchScript-based exporter (``dynamo=False``): the ``torch.export`` one refuses
the models' data-dependent sizes (``int(lengths.sum())``). ONNX has no duplicate-safe
``index_add``, so the scatter-sums of message passing are written as
``ScatterElements(reduction="add")`` (opset :data:`ONNX_OPSET`), and ``cumsum`` of node masks
casts them to int64 first as torch does (ONNX's ``CumSum`` takes no bool).

Each file carries its :class:`ExportMetadata` (class names, layout, training config with the
test-time transforms, input shape) as JSON: the TorchScript extra file :data:`METADATA_KEY`,
or the ONNX ``metadata_props`` entry of that name. :func:`load_exported` needs nothing else.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch_geometric.data import Batch, Data

from ..data.transforms import MaxPersons, UniformSample, build_transforms
from ..graph import SkeletonGraphBuilder
from ..layouts import LayoutLike, get_layout
from ..models.skeleton_classifier import SkeletonClassifier
from ..nn.choices import check_choice
from ..sequence import SkeletonSequence
from .inference import load_trained, prepared_arrays, rank_classes, test_steps

FORMATS = ("torchscript", "onnx")
EXPORTABLE_MODELS = ("stgcn", "shiftgcn", "stgcnpp", "ctrgcn")
METADATA_KEY = "pyg_action.json"
#: Largest difference allowed between exported and eager logits, relative to the largest
#: eager logit (absolute below 1): fp32 kernels of another runtime sum in another order.
TOLERANCE = 1e-5
ONNX_OPSET = 17
#: Persons per sample when neither ``--persons`` nor a ``max_persons`` test transform says.
DEFAULT_PERSONS = 2

_GRAPH_ATTRIBUTES = (
    "spatial_edge_index",
    "spatial_edge_type",
    "spatial_edge_weight",
    "spatial_edge_id",
    "num_frames",
    "num_persons",
)


@dataclass(frozen=True)
class ExportMetadata:
    """What an exported file needs besides its weights to classify skeleton files.

    Attributes:
        model: Registered model name (one of :data:`EXPORTABLE_MODELS`).
        class_names: Name of every output class, in logit order.
        layout: The skeleton layout as a dict (:meth:`~pyg_action.layouts.SkeletonLayout.to_dict`).
        config: The training config (its ``data`` section gives the test-time transforms).
        input_shape: ``(B, C, T, V, M)`` of the only input the file accepts.
    """

    model: str
    class_names: list[str]
    layout: dict[str, Any]
    config: dict[str, Any]
    input_shape: tuple[int, int, int, int, int]

    @property
    def batch_size(self) -> int:
        return self.input_shape[0]

    @property
    def channels(self) -> int:
        return self.input_shape[1]

    @property
    def frames(self) -> int:
        return self.input_shape[2]

    @property
    def persons(self) -> int:
        return self.input_shape[4]

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ExportMetadata:
        fields = json.loads(text)
        fields["input_shape"] = tuple(int(n) for n in fields["input_shape"])
        return cls(**fields)


class FixedSizeClassifier(nn.Module):
    r"""A sparse skeleton classifier on dense inputs of one fixed shape.

    The input ``(B, C, T, V, M)`` becomes node features ``(B * M * T * V, C)`` ordered
    ``(sample, person, frame, joint)``, as :class:`~pyg_action.graph.SkeletonGraphBuilder`
    and PyG batching order them; the batch graph of that shape is built once and kept as
    buffers, so ``forward`` is the model's computation on a constant graph.

    Person slots that are entirely zero (a one-person sample in a two-person export) stand
    for absent persons, which the sparse model never sees: they are left out of the mean
    over persons. With ``h`` the ``(B, M, T', V, C')`` features after the last block and
    ``p_{b,m} = [x_{b,:,:,:,m} \neq 0]``,

    .. math::
        \mathbf{f}_b = \frac{\sum_m p_{b,m} \operatorname{mean}_{t,v} \mathbf{h}_{b,m,t,v}}
                         {\max(1, \sum_m p_{b,m})},

    the sparse model's pooled feature of the sample's present persons (tracks do not
    interact), so the logits equal the checkpoint's on that sample.

    Args:
        model: The sparse classifier (eval mode).
        builder: The graph builder of its training data (its partition labels must not
            depend on the coordinates, so ``center="gravity"`` is refused).
        input_shape: ``(B, C, T, V, M)``.

    Shapes:
        - **input:** ``(B, C, T, V, M)``
        - **output:** logits ``(B, K)``
    """

    def __init__(
        self,
        model: SkeletonClassifier,
        builder: SkeletonGraphBuilder,
        input_shape: tuple[int, int, int, int, int],
    ) -> None:
        super().__init__()
        if builder.gravity:
            raise ValueError(
                "cannot export a model whose partitions follow each frame's centre of gravity "
                "(graph.center='gravity'): its graph depends on the input"
            )
        batch, channels, frames, joints, persons = input_shape
        self.model = model
        self.channels = channels
        sample = builder(torch.zeros(channels, frames, joints, persons))
        graph = Batch.from_data_list([sample] * batch)
        for name in _GRAPH_ATTRIBUTES:
            self.register_buffer(name, graph[name])
        self.register_buffer("node_sample", graph.batch)
        self.track_shape = [(frames, persons)] * batch

    def forward(self, x: Tensor) -> Tensor:
        batch, persons = x.shape[0], x.shape[4]
        nodes = x.permute(0, 4, 2, 3, 1).reshape(-1, self.channels)
        graph = Data(
            x=nodes,
            batch=self.node_sample,
            track_shape=self.track_shape,
            **{name: getattr(self, name) for name in _GRAPH_ATTRIBUTES},
        )
        features, _ = self.model.forward_nodes(graph)
        per_person = features.view(batch, persons, -1, features.shape[-1]).mean(2)
        present = x.abs().amax(dim=(1, 2, 3)).gt(0).to(features.dtype)  # (B, M)
        pooled = (per_person * present.unsqueeze(-1)).sum(1)
        return self.model.forward_head(pooled / present.sum(1, keepdim=True).clamp_min(1))


class ExportedModel:
    """A classifier loaded from an exported file: its metadata and a logits function.

    Args:
        metadata: The file's :class:`ExportMetadata`.
        run: ``(B, C, T, V, M)`` float32 array to ``(B, K)`` logits.
    """

    def __init__(self, metadata: ExportMetadata, run: Callable[[np.ndarray], np.ndarray]) -> None:
        self.metadata = metadata
        self._run = run

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Logits ``(B, K)`` of a ``(B, C, T, V, M)`` input of exactly the exported shape."""
        if tuple(x.shape) != self.metadata.input_shape:
            raise ValueError(
                f"input shape {tuple(x.shape)} differs from the exported one "
                f"{self.metadata.input_shape}"
            )
        return self._run(np.ascontiguousarray(x, dtype=np.float32))

    def predict(
        self, sequences: list[SkeletonSequence], top: int = 5
    ) -> list[list[tuple[str, float]]]:
        """Top-``top`` (class name, probability) of each sequence.

        Each sequence goes through the training config's test-time transforms, then
        :func:`fit_shape` to the exported frames and persons; sequences run in chunks of the
        exported batch size (the last chunk filled with zero samples, whose outputs are
        dropped: samples do not interact in eval mode).
        """
        meta = self.metadata
        layout = get_layout(meta.layout)
        arrays = prepared_arrays(meta.config, layout, meta.channels, sequences)
        fitted = np.stack([fit_shape(a, meta.frames, meta.persons) for a in arrays])
        chunks = []
        for start in range(0, len(fitted), meta.batch_size):
            chunk = fitted[start : start + meta.batch_size]
            padded = np.zeros(meta.input_shape, dtype=np.float32)
            padded[: len(chunk)] = chunk
            chunks.append(self.logits(padded)[: len(chunk)])
        return rank_classes(torch.from_numpy(np.concatenate(chunks)), meta.class_names, top)


def fit_shape(array: np.ndarray, frames: int, persons: int) -> np.ndarray:
    """``(C, T', V, M')`` cut or zero padded to ``(C, frames, V, persons)``.

    Longer sequences keep their first ``frames`` frames, shorter ones get zero frames
    appended; extra persons beyond the first ``persons`` are dropped, missing ones are zero.
    """
    channels, _, joints, _ = array.shape
    out = np.zeros((channels, frames, joints, persons), dtype=np.float32)
    kept = array[:, :frames, :, :persons]
    out[:, : kept.shape[1], :, : kept.shape[3]] = kept
    return out


def default_input_size(config: dict[str, Any], layout: LayoutLike) -> tuple[int | None, int]:
    """Frames and persons the test-time transforms produce.

    Frames: the length of the last ``uniform_sample`` step (``None`` without one); persons:
    the count of the last ``max_persons`` step, else :data:`DEFAULT_PERSONS`.
    """
    frames, persons = None, DEFAULT_PERSONS
    for step in build_transforms(test_steps(config), layout=layout).transforms:
        if isinstance(step, UniformSample):
            frames = step.length
        elif isinstance(step, MaxPersons):
            persons = step.count
    return frames, persons


def export_checkpoint(
    checkpoint: str | Path,
    out: str | Path,
    file_format: str = "torchscript",
    frames: int | None = None,
    persons: int | None = None,
    batch_size: int = 1,
) -> float:
    """Export a trained ST-GCN or Shift-GCN checkpoint for ``(B, C, T, V, M)`` inputs.

    Args:
        checkpoint: A checkpoint written by training.
        out: The file to write.
        file_format: ``"torchscript"`` or ``"onnx"`` (needs the ``onnx`` and ``onnxruntime``
            packages).
        frames: ``T``; by default the test-time ``uniform_sample`` length.
        persons: ``M``; by default the test-time ``max_persons`` count, else 2.
        batch_size: ``B``.

    Returns:
        The largest absolute difference between the exported and the eager logits on a
        random input (at most :data:`TOLERANCE` times the largest logit, or than 1, else
        ``RuntimeError`` and no file).
    """
    check_choice("format", file_format, FORMATS)
    model, state = load_trained(checkpoint)
    config = state["config"]
    name = config["model"]["name"]
    if name not in EXPORTABLE_MODELS or not isinstance(model, SkeletonClassifier):
        raise ValueError(f"cannot export model {name!r}: only {EXPORTABLE_MODELS} are supported")
    layout = get_layout(state["layout"])
    default_frames, default_persons = default_input_size(config, layout)
    if frames is not None and default_frames is not None and frames != default_frames:
        raise ValueError(
            f"{checkpoint}: the model classifies {default_frames}-frame clips (its test "
            f"transforms' uniform_sample length); an export for {frames} frames would see "
            f"zero-padded or cut clips and disagree with it: omit --frames or give "
            f"{default_frames}"
        )
    frames = frames or default_frames
    if frames is None:
        raise ValueError("the test transforms fix no frame count: give the frames to export")
    shape = (
        batch_size,
        int(state["in_channels"]),
        frames,
        layout.num_joints,
        persons or default_persons,
    )
    metadata = ExportMetadata(name, list(state["class_names"]), layout.to_dict(), config, shape)
    wrapper = FixedSizeClassifier(
        model, SkeletonGraphBuilder(layout, **config["graph"]), shape
    ).eval()
    generator = torch.Generator().manual_seed(0)
    example, check = (torch.randn(shape, generator=generator) for _ in range(2))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.stem}.partial{out.suffix}")  # same suffix: same loader
    try:
        if file_format == "torchscript":
            _write_torchscript(wrapper, example, metadata, partial)
        else:
            _write_onnx(wrapper, example, metadata, partial)
        with torch.no_grad():
            eager = wrapper(check).numpy()
        difference = float(np.abs(load_exported(partial).logits(check.numpy()) - eager).max())
        allowed = TOLERANCE * max(1.0, float(np.abs(eager).max()))
        if difference > allowed:
            raise RuntimeError(
                f"exported model differs from the eager one by {difference:.3g} > {allowed:.3g}"
                f" ({TOLERANCE} of the largest logit): {out} not written"
            )
        _check_against_checkpoint(model, state, load_exported(partial), out)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return difference


#: Samples of the test split (or random sequences) an export is compared with its checkpoint on.
CHECK_SAMPLES = 8
#: Largest difference of the whole pipelines' probabilities (test transforms, fit to the
#: exported shape, model) between an export and its checkpoint.
PIPELINE_TOLERANCE = 1e-4


def check_sequences(state: dict[str, Any], frames: int) -> list[SkeletonSequence]:
    """What an export is compared with its checkpoint on: up to :data:`CHECK_SAMPLES` of the
    checkpoint's test split, read with its own data options (random sequences of 1/2 to 2
    times the exported frames when that data is not at hand)."""
    from .trainer import load_split

    try:
        dataset: Any = load_split(state["config"], "test").dataset
        return [dataset.source[i] for i in list(dataset.split)[:CHECK_SAMPLES]]
    except (ValueError, OSError, AttributeError, TypeError):
        layout = get_layout(state["layout"])
        rng = np.random.default_rng(0)
        lengths = rng.integers(max(1, frames // 2), 2 * frames + 1, CHECK_SAMPLES)
        shape = (int(state["in_channels"]), layout.num_joints, 1)
        return [
            SkeletonSequence(
                rng.normal(size=(shape[0], int(t), *shape[1:])).astype(np.float32),
                layout=layout.name,
                name=f"random_{i}",
            )
            for i, t in enumerate(lengths)
        ]


def _check_against_checkpoint(
    model: nn.Module, state: dict[str, Any], exported: ExportedModel, out: Path
) -> None:
    """Raise ``RuntimeError`` unless ``exported`` classifies like the checkpoint's model on
    :func:`check_sequences`, each prepared as ``predict`` prepares it for either."""
    from .inference import predict_sequences

    sequences = check_sequences(state, exported.metadata.frames)
    top = len(state["class_names"])
    for seq in sequences:
        want = dict(predict_sequences(model, state, [seq], top)[0])
        got = dict(exported.predict([seq], top)[0])
        difference = max(abs(want[name] - got[name]) for name in want)
        if difference > PIPELINE_TOLERANCE:
            raise RuntimeError(
                f"the export classifies sample {seq.name} unlike the checkpoint (probabilities "
                f"differ by {difference:.3g} > {PIPELINE_TOLERANCE}): {out} not written"
            )


def load_exported(path: str | Path) -> ExportedModel:
    """An exported file: ``*.onnx`` through onnxruntime, anything else as TorchScript."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"exported model {path} does not exist")
    if path.suffix.lower() == ".onnx":
        return _load_onnx(path)
    return _load_torchscript(path)


@contextmanager
def _quiet_torchscript() -> Iterator[None]:
    """Silence the tracer's "treated as a constant" warnings (constants are the intent here)
    and the deprecation notices of ``torch.jit``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def trace_frozen(wrapper: FixedSizeClassifier, example: Tensor) -> torch.jit.ScriptModule:
    """``wrapper`` traced on ``example`` and frozen, the program a TorchScript export holds.

    ``torch.jit.freeze`` turns parameters and buffers into constants and folds everything
    computed from them alone: the index plans of the fixed graph, the shifts' interpolation
    tables, the feature masks ``tanh M + 1``. The file then runs only the operators that
    touch the input (docs/shiftgcn.md has the timings).
    """
    with _quiet_torchscript(), torch.no_grad():
        traced = torch.jit.trace(wrapper.eval(), example, check_trace=False)
        return torch.jit.freeze(traced.eval())


def _write_torchscript(
    wrapper: FixedSizeClassifier, example: Tensor, metadata: ExportMetadata, out: Path
) -> None:
    program = trace_frozen(wrapper, example)
    torch.jit.save(program, str(out), _extra_files={METADATA_KEY: metadata.to_json()})


def _load_torchscript(path: Path) -> ExportedModel:
    extra = {METADATA_KEY: ""}
    with _quiet_torchscript():
        try:
            module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
        except RuntimeError as exc:
            raise ValueError(f"{path}: not a TorchScript file: {exc}") from exc
    if not extra[METADATA_KEY]:
        raise ValueError(f"{path}: no {METADATA_KEY} metadata (not exported by pyg-action)")
    module.eval()

    def run(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return module(torch.from_numpy(x)).numpy()

    return ExportedModel(ExportMetadata.from_json(extra[METADATA_KEY]), run)


def _onnx_modules() -> tuple[Any, Any]:
    try:
        import onnx
        import onnxruntime
    except ImportError as exc:
        raise RuntimeError(
            "ONNX needs the onnx and onnxruntime packages: pip install 'pyg_action[onnx]'"
        ) from exc
    return onnx, onnxruntime


def _index_add_symbolic(g, self, dim, index, source, alpha=None):
    """``aten::index_add`` as ``ScatterElements(reduction="add")``: the index ``(E,)`` is
    broadcast to ``source``'s shape, so repeated targets sum (the built-in export refuses
    repeated indices)."""
    from torch.onnx import symbolic_helper

    dim = symbolic_helper._get_const(dim, "i", "dim")
    axes = [axis for axis in range(symbolic_helper._get_tensor_rank(source)) if axis != dim]
    spread = index
    if axes:
        axes_value = g.op("Constant", value_t=torch.tensor(axes, dtype=torch.long))
        spread = g.op("Unsqueeze", index, axes_value)
        spread = g.op("Expand", spread, g.op("Shape", source))
    return g.op("ScatterElements", self, spread, source, axis_i=dim, reduction_s="add")


def _cumsum_symbolic(g, self, dim, dtype=None):
    """``aten::cumsum`` with torch's type promotion (bool and integers sum as int64): ONNX's
    ``CumSum`` takes no bool, and the built-in export passes the input type through."""
    from torch.onnx import JitScalarType, symbolic_helper

    dim = symbolic_helper._get_const(dim, "i", "dim")
    if symbolic_helper._is_none(dtype):
        source = JitScalarType.from_value(self)
        promoted = source not in (JitScalarType.FLOAT, JitScalarType.DOUBLE, JitScalarType.HALF)
        target = JitScalarType.INT64 if promoted else source
    else:
        target = JitScalarType(symbolic_helper._get_const(dtype, "i", "dtype"))
    cast = g.op("Cast", self, to_i=target.onnx_type())
    return g.op("CumSum", cast, g.op("Constant", value_t=torch.tensor(dim)))


_ONNX_SYMBOLICS: dict[str, Callable[..., Any]] = {
    "aten::index_add": _index_add_symbolic,
    "aten::cumsum": _cumsum_symbolic,
}


@contextmanager
def _onnx_symbolics() -> Iterator[None]:
    """Register this module's ONNX translations for the duration of one export."""
    for name, symbolic in _ONNX_SYMBOLICS.items():
        torch.onnx.register_custom_op_symbolic(name, symbolic, ONNX_OPSET)
    try:
        yield
    finally:
        for name in _ONNX_SYMBOLICS:
            torch.onnx.unregister_custom_op_symbolic(name, ONNX_OPSET)


def _write_onnx(
    wrapper: FixedSizeClassifier, example: Tensor, metadata: ExportMetadata, out: Path
) -> None:
    onnx, _ = _onnx_modules()
    with _onnx_symbolics(), _quiet_torchscript(), torch.no_grad():
        # the exporter's notes on boolean-mask indexing and unfolded slices: the masks here
        # are 1-D node masks, and the result is checked against the eager model anyway
        warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\.onnx")
        torch.onnx.export(
            wrapper,
            (example,),
            str(out),
            dynamo=False,
            opset_version=ONNX_OPSET,
            input_names=["skeleton"],
            output_names=["logits"],
        )
    proto = onnx.load(str(out))
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, metadata.to_json()
    onnx.save(proto, str(out))


def _load_onnx(path: Path) -> ExportedModel:
    _, onnxruntime = _onnx_modules()
    try:
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own error classes
        raise ValueError(f"{path}: not a loadable ONNX model: {exc}") from exc
    properties = session.get_modelmeta().custom_metadata_map
    if METADATA_KEY not in properties:
        raise ValueError(f"{path}: no {METADATA_KEY} metadata (not exported by pyg-action)")
    input_name = session.get_inputs()[0].name

    def run(x: np.ndarray) -> np.ndarray:
        return session.run(None, {input_name: x})[0]

    return ExportedModel(ExportMetadata.from_json(properties[METADATA_KEY]), run)
