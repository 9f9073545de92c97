"""Image datasets (digits, user folders and .npz) and the generic graph datasets."""

import random

import numpy as np
import pytest
import torch
from PIL import Image
from torch_geometric.loader import DataLoader

from pyg_action.data.generic_graphs import digit_point_graph
from pyg_action.data.images import random_shift
from pyg_action.data.registry import allow_dataset_class, build_dataset
from pyg_action.errors import GraphDataError, ImageDataError


def images_of(dataset):
    return torch.cat([dataset[i].image for i in range(len(dataset))])


def test_digits_split_is_stratified_deterministic_and_held_out():
    train = build_dataset("digits", "train", augment=False)
    test = build_dataset("digits", "test")
    assert (len(train.dataset), len(test.dataset)) == (1438, 359)
    assert train.num_classes == 10 and train.in_channels == 1 and not train.synthetic
    counts = torch.bincount(test.dataset.labels, minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37  # 20 % of every class
    raw_train = {tuple(row) for row in train.dataset.images.flatten(1).tolist()}
    overlap = sum(tuple(row) in raw_train for row in test.dataset.images.flatten(1).tolist())
    assert overlap <= 2  # only exact duplicate drawings, if any
    again = build_dataset("digits", "test").dataset
    assert torch.equal(again.images, test.dataset.images)
    reseeded = build_dataset("digits", "test", split_seed=1).dataset
    assert not torch.equal(reseeded.images, again.images)
    assert torch.equal(build_dataset("digits", "val").dataset.images, again.images)
    assert torch.equal(images_of(test.dataset)[:3], ((again.images[:3] - again.mean) / again.std))


def test_digits_are_standardised_with_training_statistics():
    train = images_of(build_dataset("digits", "train", augment=False).dataset)
    assert train.mean().item() == pytest.approx(0.0, abs=1e-4)
    assert train.std().item() == pytest.approx(1.0, abs=1e-3)


def test_digits_batch_to_image_tensor():
    info = build_dataset("digits", "test")
    batch = next(iter(DataLoader(info.dataset, batch_size=5)))
    assert batch.image.shape == (5, 1, 8, 8)
    assert batch.y.shape == (5,)
    assert batch.num_graphs == 5


def test_augmentation_only_on_training_split():
    torch.manual_seed(0)
    plain = build_dataset("digits", "train", augment=False).dataset
    shifted = build_dataset("digits", "train", augment=True, max_shift=1).dataset
    assert shifted.max_shift == 1 and build_dataset("digits", "test").dataset.max_shift == 0
    changed = sum(not torch.equal(plain[i].image, shifted[i].image) for i in range(50))
    assert changed > 20


def test_random_shift_moves_whole_pixels_with_zero_fill():
    torch.manual_seed(0)
    image = torch.arange(1, 17, dtype=torch.float).view(1, 4, 4)
    for _ in range(20):
        out = random_shift(image, 1)
        assert out.shape == image.shape
        nonzero = out[out != 0]
        assert set(nonzero.tolist()) <= set(image.flatten().tolist())
        assert nonzero.numel() >= 9


def write_npz(path, channels=None, split=None):
    rng = np.random.default_rng(0)
    shape = (30, 6, 5) if channels is None else (30, 6, 5, channels)
    arrays = {
        "images": rng.integers(0, 256, shape, dtype=np.uint8),
        "labels": np.repeat(np.arange(3), 10),
        "class_names": np.array(["a", "b", "c"]),
    }
    if split is not None:
        arrays["split"] = np.array(split)
    np.savez(path, **arrays)


@pytest.mark.parametrize("channels", [None, 3])
def test_images_from_npz(tmp_path, channels):
    path = tmp_path / "imgs.npz"
    write_npz(path, channels)
    train = build_dataset("images", "train", path=str(path))
    test = build_dataset("images", "test", path=str(path))
    assert len(train.dataset) + len(test.dataset) == 30
    assert train.class_names == ["a", "b", "c"]
    assert train.in_channels == (channels or 1)
    assert train.dataset[0].image.shape == (1, channels or 1, 6, 5)


def test_images_npz_split_key_and_errors(tmp_path):
    path = tmp_path / "imgs.npz"
    write_npz(path, split=["train"] * 20 + ["test"] * 10)
    assert len(build_dataset("images", "train", path=str(path)).dataset) == 20
    assert len(build_dataset("images", "val", root=str(path)).dataset) == 10
    bad = tmp_path / "bad.npz"
    np.savez(bad, images=np.zeros((3, 4, 4)))
    with pytest.raises(ImageDataError, match="labels"):
        build_dataset("images", "train", path=str(bad))
    with pytest.raises(ValueError, match="path"):
        build_dataset("images", "train")


def write_folder(root, sizes=((6, 6),)):
    for c, name in enumerate(["cat", "dog"]):
        (root / name).mkdir(parents=True)
        for i in range(5):
            size = sizes[i % len(sizes)]
            pixels = np.full((*size, 3), 40 * c + i, dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.png")


def test_images_from_folder(tmp_path):
    write_folder(tmp_path / "data")
    train = build_dataset("images", "train", path=str(tmp_path / "data"))
    test = build_dataset("images", "test", path=str(tmp_path / "data"), grayscale=True)
    assert train.class_names == ["cat", "dog"]
    assert train.dataset[0].image.shape == (1, 3, 6, 6)
    assert test.dataset[0].image.shape == (1, 1, 6, 6)
    assert len(train.dataset) == 8 and len(test.dataset) == 2


def test_images_folder_sizes_must_match_or_be_resized(tmp_path):
    write_folder(tmp_path / "data", sizes=((6, 6), (8, 5)))
    with pytest.raises(ImageDataError, match="image_size"):
        build_dataset("images", "train", path=str(tmp_path / "data"))
    info = build_dataset("images", "train", path=str(tmp_path / "data"), image_size=[4, 7])
    assert info.dataset[0].image.shape == (1, 3, 4, 7)


def test_images_folder_with_train_and_test_parts(tmp_path):
    write_folder(tmp_path / "data" / "train")
    write_folder(tmp_path / "data" / "test")
    assert len(build_dataset("images", "train", path=str(tmp_path / "data")).dataset) == 10
    assert len(build_dataset("images", "test", path=str(tmp_path / "data")).dataset) == 10


# Generic graph classification datasets ---------------------------------------------------


def test_digit_point_graph():
    image = np.zeros((8, 8))
    image[2, 2:5] = 16
    image[3, 3] = 8
    data = digit_point_graph(image, 4)
    assert data.num_nodes == 4 and int(data.y) == 4
    torch.testing.assert_close(data.x[3], torch.tensor([3 / 7, 3 / 7, 0.5]))
    edges = set(map(tuple, data.edge_index.t().tolist()))
    assert (0, 1) in edges and (1, 0) in edges and (0, 2) not in edges
    assert all(a != b for a, b in edges)


def test_digits_points_dataset_varies_in_size():
    info = build_dataset("digits_points", "train")
    sizes = {info.dataset[i].num_nodes for i in range(200)}
    assert info.in_channels == 3 and info.num_classes == 10
    assert len(sizes) > 10
    assert len(info.dataset) + len(build_dataset("digits_points", "test").dataset) == 1797


def write_graph_npz(path, **overrides):
    rng = np.random.default_rng(0)
    sizes, edge_counts = [3, 5, 4, 6], [2, 4, 3, 0]
    arrays = {
        "x": rng.normal(size=(sum(sizes), 2)).astype(np.float32),
        "node_ptr": np.cumsum([0, *sizes]),
        "edge_index": np.concatenate(
            [rng.integers(0, n, (2, e)) for n, e in zip(sizes, edge_counts, strict=True)], axis=1
        ),
        "edge_ptr": np.cumsum([0, *edge_counts]),
        "y": np.array([0, 1, 0, 1]),
        "split": np.array(["train", "train", "test", "train"]),
    }
    arrays.update(overrides)
    np.savez(path, **arrays)
    return arrays


def test_graph_npz_round_trip(tmp_path):
    arrays = write_graph_npz(tmp_path / "g.npz")
    train = build_dataset("graph_npz", "train", path=str(tmp_path / "g.npz"))
    test = build_dataset("graph_npz", "test", path=str(tmp_path / "g.npz"))
    assert len(train.dataset) == 3 and len(test.dataset) == 1
    assert train.in_channels == 2 and train.num_classes == 2
    graph = test.dataset[0]  # graph 2: nodes 8..11, edges 6..8
    torch.testing.assert_close(graph.x, torch.from_numpy(arrays["x"][8:12]))
    assert torch.equal(graph.edge_index, torch.from_numpy(arrays["edge_index"][:, 6:9]))
    batch = next(iter(DataLoader(train.dataset, batch_size=3)))
    assert batch.num_graphs == 3 and batch.x.shape == (14, 2)


def test_graph_npz_errors(tmp_path):
    write_graph_npz(
        tmp_path / "bad.npz", edge_index=np.array([[0, 9], [1, 1]]), edge_ptr=[0, 2, 2, 2, 2]
    )
    with pytest.raises(GraphDataError, match="local"):
        build_dataset("graph_npz", "all", path=str(tmp_path / "bad.npz"))
    write_graph_npz(tmp_path / "ptr.npz", node_ptr=np.array([0, 3, 2, 12, 18]))
    with pytest.raises(GraphDataError, match="node_ptr"):
        build_dataset("graph_npz", "all", path=str(tmp_path / "ptr.npz"))


def test_pyg_dataset_by_class_path():
    options = dict(num_graphs=40, avg_num_nodes=12, num_channels=5, num_classes=3)

    def build(split):
        random.seed(0)  # FakeDataset draws its graphs
        torch.manual_seed(0)
        with allow_dataset_class("torch_geometric.datasets.FakeDataset"):
            return build_dataset("pyg_dataset", split, options=options)

    train, test = build("train"), build("test")
    assert train.in_channels == 5 and train.num_classes == 3
    assert len(train.dataset) + len(test.dataset) == 40
    with (
        allow_dataset_class("torch_geometric.datasets.Nope"),
        pytest.raises(ValueError, match="cannot import"),
    ):
        build_dataset("pyg_dataset", "train")


def test_pyg_dataset_imports_only_the_class_the_command_line_named():
    """A class_path from a config alone is refused before anything is imported; the named
    class must be a PyG Dataset, checked before it is called."""
    with pytest.raises(ValueError, match="--dataset-class os.system"):
        build_dataset("pyg_dataset", "train", class_path="os.system")
    with (
        allow_dataset_class("torch_geometric.datasets.FakeDataset"),
        pytest.raises(ValueError, match="but --dataset-class names"),
    ):
        build_dataset("pyg_dataset", "train", class_path="os.system")
    with allow_dataset_class("os.system"), pytest.raises(ValueError, match="not a torch_geometric"):
        build_dataset("pyg_dataset", "train", options={"command": "exit 3"})
