"""Fixed-size export: exported logits equal the sparse model's, metadata travels with the file."""

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from pyg_action.data.synthetic import generate_sample
from pyg_action.engine.config import load_config
from pyg_action.engine.export import (
    TOLERANCE,
    FixedSizeClassifier,
    export_checkpoint,
    fit_shape,
    load_exported,
)
from pyg_action.engine.inference import load_trained, predict_sequences
from pyg_action.engine.trainer import train
from pyg_action.graph import SkeletonGraphBuilder
from pyg_action.layouts import get_layout

TINY = [
    "model.channels=[8, 8, 8]",
    "model.strides=[1, 2, 2]",  # two strided blocks: the graph is coarsened twice
    "data.num_samples=24",
    "train.epochs=1",
    "train.batch_size=8",
    "data.transforms={train: [pre_normalize, {name: uniform_sample, length: 8, mode: train}],"
    " test: [pre_normalize, {name: uniform_sample, length: 8}]}",
]
MODELS = ("stgcn", "shiftgcn", "stgcnpp", "ctrgcn")


def _needs(fmt: str) -> None:
    if fmt == "onnx":
        for module in ("onnx", "onnxruntime"):
            pytest.importorskip(module, reason="ONNX export needs pip install 'pyg_action[onnx]'")


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    for name in MODELS:
        train(load_config(None, TINY, model=name), out / name, progress=False)
    return {name: out / name / "best.pt" for name in MODELS}


def _sparse_logits(checkpoint, x: torch.Tensor) -> torch.Tensor:
    """The checkpoint's eager model on the PyG batch of ``x`` (B, C, T, V, M), built as training
    builds it (not through the export wrapper)."""
    model, state = load_trained(checkpoint)
    builder = SkeletonGraphBuilder(get_layout(state["layout"]), **state["config"]["graph"])
    batch = Batch.from_data_list([builder(sample) for sample in x])
    with torch.no_grad():
        return model(batch)


def _samples(persons: int, count: int) -> list:
    found = (generate_sample(i, seed=3) for i in range(40))
    samples = [s for s in found if s.num_persons == persons]
    assert len(samples) >= count
    return samples[:count]


@pytest.mark.parametrize("fmt", ["torchscript", "onnx"])
@pytest.mark.parametrize("name", MODELS)
def test_exported_file_equals_eager_and_predicts_alone(checkpoints, tmp_path, name, fmt):
    _needs(fmt)
    path = tmp_path / (f"{name}.onnx" if fmt == "onnx" else f"{name}.ts")
    difference = export_checkpoint(checkpoints[name], path, fmt, batch_size=2)
    assert 0.0 <= difference <= TOLERANCE
    model, state = load_trained(checkpoints[name])
    exported = load_exported(path)
    meta = exported.metadata
    assert meta.model == name and meta.class_names == state["class_names"]
    assert meta.layout["name"] == "ntu25"
    assert meta.input_shape == (2, 3, 8, 25, 2)  # T from uniform_sample, M = 2 by default
    assert meta.config["data"]["transforms"]["test"][1] == {"name": "uniform_sample", "length": 8}
    if fmt == "torchscript":  # frozen: the weights are constants of the program
        program = torch.jit.load(str(path))
        assert not list(program.parameters()) and not hasattr(program, "model")

    x = torch.randn(meta.input_shape, generator=torch.Generator().manual_seed(1))
    got = exported.logits(x.numpy())
    assert got.shape == (2, 14)
    np.testing.assert_allclose(got, _sparse_logits(checkpoints[name], x), rtol=0, atol=TOLERANCE)
    with pytest.raises(ValueError, match="differs from the exported"):
        exported.logits(x[:, :, :7].numpy())  # the trace holds for one shape only

    # samples of any length have the exported T after the test transforms; a one-person
    # sample leaves the second person slot zero, which the export leaves out of the mean over
    # persons as the sparse model never sees it: the file alone predicts what the checkpoint
    # predicts for both kinds; 4 samples take 2 batches of 2
    samples = [*_samples(2, 2), *_samples(1, 2)]
    ranked = exported.predict(samples, top=3)
    expected = predict_sequences(model, state, samples, top=3)
    for mine, reference in zip(ranked, expected, strict=True):
        assert [label for label, _ in mine] == [label for label, _ in reference]
        np.testing.assert_allclose(
            [p for _, p in mine], [p for _, p in reference], rtol=0, atol=TOLERANCE
        )


def test_export_of_a_chosen_shape(checkpoints, tmp_path):
    path = tmp_path / "m.pt"
    export_checkpoint(checkpoints["shiftgcn"], path, frames=8, persons=3, batch_size=3)
    exported = load_exported(path)
    assert exported.metadata.input_shape == (3, 3, 8, 25, 3)
    x = torch.randn(3, 3, 8, 25, 3, generator=torch.Generator().manual_seed(2))
    expected = _sparse_logits(checkpoints["shiftgcn"], x)
    np.testing.assert_allclose(exported.logits(x.numpy()), expected, rtol=0, atol=TOLERANCE)


def test_fit_shape_crops_and_zero_pads():
    x = np.arange(2 * 5 * 3 * 1, dtype=np.float32).reshape(2, 5, 3, 1) + 1
    cut = fit_shape(x, frames=3, persons=2)
    assert cut.shape == (2, 3, 3, 2)
    np.testing.assert_array_equal(cut[..., 0], x[:, :3, :, 0])  # first frames kept
    assert not cut[..., 1].any()  # missing person is zero
    padded = fit_shape(np.repeat(x, 3, axis=3), frames=7, persons=2)
    np.testing.assert_array_equal(padded[:, :5], x[:, :, :, [0, 0]])  # extra person dropped
    assert not padded[:, 5:].any()  # frames appended at the end are zero


def test_export_refusals(checkpoints, tmp_path):
    with pytest.raises(ValueError, match="format must be"):
        export_checkpoint(checkpoints["stgcn"], tmp_path / "m.pt", "tflite")
    model, _ = load_trained(checkpoints["stgcn"])
    builder = SkeletonGraphBuilder("ntu25", center="gravity")
    with pytest.raises(ValueError, match="centre of gravity"):
        FixedSizeClassifier(model, builder, (1, 3, 8, 25, 2))
    plain = tmp_path / "plain.pt"
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), str(plain))
    with pytest.raises(ValueError, match="no pyg_action.json metadata"):
        load_exported(plain)
    with pytest.raises(FileNotFoundError):
        load_exported(tmp_path / "missing.onnx")


def test_an_export_that_fails_its_check_leaves_no_file(checkpoints, tmp_path, monkeypatch):
    import pyg_action.engine.export as export

    out = tmp_path / "m.pt"
    out.write_bytes(b"an older export")
    monkeypatch.setattr(export, "TOLERANCE", -1.0)  # no difference, not even 0, passes
    with pytest.raises(RuntimeError, match="differs from the eager one .* not written"):
        export_checkpoint(checkpoints["stgcn"], out)
    assert out.read_bytes() == b"an older export"  # neither replaced nor half written
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]  # no partial file left


def test_an_export_that_would_classify_unlike_its_model_is_refused(checkpoints, tmp_path):
    """Trained and evaluated on 8-frame clips: a 16-frame export would see zero-padded clips
    and give other classes than the checkpoint; a one-person export of two-person data too."""
    one = tmp_path / "one.pt"
    with pytest.raises(RuntimeError, match="unlike the checkpoint"):
        export_checkpoint(checkpoints["stgcn"], one, persons=1)
    assert not one.exists()
    out = tmp_path / "m.pt"
    with pytest.raises(ValueError, match="classifies 8-frame clips .* omit --frames or give 8"):
        export_checkpoint(checkpoints["stgcn"], out, frames=16)
    assert not out.exists()


def test_the_export_check_compares_with_the_checkpoint_on_its_test_data(
    checkpoints, tmp_path, monkeypatch
):
    import pyg_action.engine.export as export

    _, state = load_trained(checkpoints["stgcn"])
    sequences = export.check_sequences(state, 8)
    assert len(sequences) == export.CHECK_SAMPLES
    assert all(seq.name.startswith("synthetic_") for seq in sequences)  # the test split
    monkeypatch.setattr(export, "PIPELINE_TOLERANCE", -1.0)
    out = tmp_path / "m.pt"
    with pytest.raises(RuntimeError, match="classifies sample synthetic_.* unlike the checkpoint"):
        export_checkpoint(checkpoints["stgcn"], out)
    assert not out.exists()
