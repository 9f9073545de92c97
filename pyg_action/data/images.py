"""Image classification data for ViG: one image per sample, ``Data(image=(1, C, H, W), y=(1,))``.

PyG's ``DataLoader`` concatenates ``image`` on its first dimension, so a batch carries
``batch.image`` ``(B, C, H, W)`` and ``batch.y`` ``(B,)``.

Datasets:

* ``digits``: scikit-learn's bundled 8×8 handwritten digits (1,797 real images, 10 classes,
  no download), with a seeded, label-stratified held-out split
  (:func:`~pyg_action.data.splits.ratio_split`).
* ``images``: the user's images, either a folder (``ROOT/<class>/<image>``, or
  ``ROOT/train/<class>/…`` and ``ROOT/test/<class>/…``) read with Pillow, or an ``.npz`` with
  ``images`` ``(N, H, W)`` or ``(N, H, W, C)``, ``labels`` ``(N,)`` and optionally
  ``class_names`` ``(K,)`` and ``split`` (``"train"`` / ``"test"`` per image).

Pixels are scaled to ``[0, 1]`` (``uint8`` divided by 255, ``digits`` by 16) and standardised
per channel with the mean and standard deviation of the training split. The optional
augmentation shifts training images by up to ``max_shift`` pixels (zero fill) before
standardising.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset
from torch_geometric.data import Data

from ..errors import ImageDataError
from .registry import DatasetInfo, register_dataset
from .report import ReadReport
from .split_names import TRAIN, select_stored
from .splits import ratio_split

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


class ImageDataset(Dataset):
    """Images as one-image PyG samples, standardised on access, optionally shifted.

    Args:
        images: Pixels in ``[0, 1]``, ``(N, C, H, W)``.
        labels: Class indices ``(N,)``.
        mean: Per-channel mean ``(C,)`` subtracted on access.
        std: Per-channel standard deviation ``(C,)`` divided by on access.
        max_shift: Shift every access by a random offset in ``[-max_shift, max_shift]``
            pixels per axis, filling with zeros (``0``: no augmentation).
    """

    def __init__(
        self, images: Tensor, labels: Tensor, mean: Tensor, std: Tensor, max_shift: int = 0
    ) -> None:
        if images.dim() != 4 or images.size(0) != labels.numel():
            raise ValueError(
                f"need images (N, C, H, W) and labels (N,), got {tuple(images.shape)} "
                f"and {tuple(labels.shape)}"
            )
        self.images = images.float()
        self.labels = labels.long()
        self.mean = mean.float().view(-1, 1, 1)
        self.std = std.float().view(-1, 1, 1)
        self.max_shift = max_shift

    def __len__(self) -> int:
        return self.images.size(0)

    def __getitem__(self, index: int) -> Data:
        image = self.images[index]
        if self.max_shift > 0:
            image = random_shift(image, self.max_shift)
        image = (image - self.mean) / self.std
        return Data(image=image.unsqueeze(0), y=self.labels[index].view(1))


def random_shift(image: Tensor, max_shift: int) -> Tensor:
    """``image`` ``(C, H, W)`` moved by random whole pixels (torch RNG), zeros shifted in."""
    s = max_shift
    dy, dx = (int(v) for v in torch.randint(0, 2 * s + 1, (2,)))
    height, width = image.shape[-2:]
    return F.pad(image, (s, s, s, s))[:, dy : dy + height, dx : dx + width]


def make_image_split(
    images: Tensor,
    labels: Tensor,
    train_index: list[int],
    index: list[int],
    class_names: list[str],
    augment: bool,
    max_shift: int,
    source: str | None = None,
) -> DatasetInfo:
    """A :class:`DatasetInfo` of ``images[index]`` standardised with ``images[train_index]``."""
    train = images[train_index]
    mean = train.mean(dim=(0, 2, 3))
    std = train.std(dim=(0, 2, 3)).clamp_min(1e-6)
    dataset = ImageDataset(images[index], labels[index], mean, std, max_shift if augment else 0)
    return DatasetInfo(
        dataset=dataset,
        num_classes=len(class_names),
        in_channels=images.size(1),
        class_names=class_names,
        report=ReadReport(good=len(index), source=source, extra={"images": len(index)}),
    )


@register_dataset("digits")
def digits(
    split: str = "train",
    test_ratio: float = 0.2,
    split_seed: int = 0,
    augment: bool = True,
    max_shift: int = 1,
) -> DatasetInfo:
    """scikit-learn's 8×8 handwritten digits as ``(1, 1, 8, 8)`` images.

    Args:
        split: ``"train"``, ``"test"`` (``"val"`` is the test split) or ``"all"``.
        test_ratio: Held-out fraction per class.
        split_seed: Seed of the split.
        augment: Random shifts on the training split.
        max_shift: Largest shift in pixels.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = torch.from_numpy(bunch.images / 16.0).float().unsqueeze(1)
    labels = torch.from_numpy(bunch.target).long()
    label_list = labels.tolist()
    train_index = ratio_split(len(label_list), "train", test_ratio, split_seed, label_list)
    index = ratio_split(len(label_list), split, test_ratio, split_seed, label_list)
    return make_image_split(
        images,
        labels,
        train_index,
        index,
        [str(c) for c in bunch.target_names],
        augment and split == "train",
        max_shift,
    )


@register_dataset("images")
def image_folder(
    split: str = "train",
    path: str | None = None,
    test_ratio: float = 0.2,
    split_seed: int = 0,
    image_size: int | list[int] | None = None,
    grayscale: bool = False,
    augment: bool = False,
    max_shift: int = 1,
    root: str | None = None,
) -> DatasetInfo:
    """The user's images from a class-per-folder tree or an ``.npz`` (see the module doc).

    Args:
        split: ``"train"``, ``"test"`` (``"val"`` is the test split) or ``"all"``.
        path: Folder or ``.npz`` file.
        test_ratio: Held-out fraction per class when the data has no split of its own.
        split_seed: Seed of that split.
        image_size: Resize folder images to ``size`` or ``[height, width]`` (required when
            their sizes differ).
        grayscale: Read folder images as one channel (otherwise RGB).
        augment: Random shifts on the training split.
        max_shift: Largest shift in pixels.
        root: Alias of ``path`` (what ``pyg-action train --data`` sets).
    """
    path = root if root is not None else path
    if path is None:
        raise ValueError("dataset 'images' needs data.path (a folder or an .npz file)")
    source = Path(path).expanduser()
    if source.suffix == ".npz":
        images, labels, class_names, splits = _read_npz(source)
    else:
        images, labels, class_names, splits = _read_folder(source, image_size, grayscale)
    label_list = labels.tolist()
    if splits is None:
        train_index = ratio_split(len(label_list), "train", test_ratio, split_seed, label_list)
        index = ratio_split(len(label_list), split, test_ratio, split_seed, label_list)
    else:
        train_index = select_stored(TRAIN, splits, source, error=ImageDataError)
        index = select_stored(split, splits, source, error=ImageDataError)
    if not train_index:
        raise ImageDataError("no training images", source)
    return make_image_split(
        images,
        labels,
        train_index,
        index,
        class_names,
        augment and split == "train",
        max_shift,
        str(source),
    )


def _read_npz(path: Path) -> tuple[Tensor, Tensor, list[str], list[str] | None]:
    if not path.is_file():
        raise ImageDataError("file not found", path)
    with np.load(path, allow_pickle=False) as archive:
        for key in ("images", "labels"):
            if key not in archive.files:
                raise ImageDataError(f"missing array {key!r} (has {archive.files})", path)
        pixels = archive["images"]
        labels = archive["labels"]
        names = archive["class_names"] if "class_names" in archive.files else None
        splits = archive["split"] if "split" in archive.files else None
    if pixels.ndim not in (3, 4) or pixels.shape[0] != labels.shape[0]:
        raise ImageDataError(
            f"need images (N, H, W[, C]) and labels (N,), got {pixels.shape} and {labels.shape}",
            path,
        )
    if labels.dtype.kind not in "iu" or labels.min(initial=0) < 0:
        raise ImageDataError("labels must be non-negative integers", path)
    images = _to_unit(pixels)
    images = images.unsqueeze(1) if pixels.ndim == 3 else images.permute(0, 3, 1, 2)
    num_classes = int(labels.max(initial=-1)) + 1
    class_names = [str(n) for n in names] if names is not None else []
    if class_names and len(class_names) < num_classes:
        raise ImageDataError(f"{len(class_names)} class names for {num_classes} labels", path)
    class_names = class_names or [str(c) for c in range(num_classes)]
    split_list = None if splits is None else [str(s) for s in np.atleast_1d(splits)]
    if split_list is not None and len(split_list) != len(labels):
        raise ImageDataError(f"split has {len(split_list)} entries for {len(labels)} images", path)
    return images.contiguous(), torch.from_numpy(labels).long(), class_names, split_list


def _read_folder(
    root: Path, image_size: int | list[int] | None, grayscale: bool
) -> tuple[Tensor, Tensor, list[str], list[str] | None]:
    from PIL import Image

    if not root.is_dir():
        raise ImageDataError("not a folder or an .npz file", root)
    parts = ["train", "test"] if (root / "train").is_dir() and (root / "test").is_dir() else [""]
    class_names = sorted({d.name for part in parts for d in (root / part).iterdir() if d.is_dir()})
    if not class_names:
        raise ImageDataError("no class folders", root)
    size = None if image_size is None else tuple(np.broadcast_to(image_size, 2).tolist())
    arrays, labels, splits = [], [], []
    for part in parts:
        for label, name in enumerate(class_names):
            folder = root / part / name
            files = sorted(folder.iterdir()) if folder.is_dir() else []
            for file in (f for f in files if f.suffix.lower() in IMAGE_SUFFIXES):
                with Image.open(file) as opened:
                    img = opened.convert("L" if grayscale else "RGB")
                    if size is not None:
                        img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
                    arrays.append(np.asarray(img))
                labels.append(label)
                splits.append(part)
    if not arrays:
        raise ImageDataError("no images found", root)
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise ImageDataError(
            f"images differ in size ({sorted(shapes)[:3]}...); set data.image_size", root
        )
    pixels = np.stack(arrays)
    images = _to_unit(pixels)
    images = images.unsqueeze(1) if pixels.ndim == 3 else images.permute(0, 3, 1, 2)
    return (
        images.contiguous(),
        torch.tensor(labels),
        class_names,
        splits if parts != [""] else None,
    )


def _to_unit(pixels: np.ndarray) -> Tensor:
    """Pixels as float in ``[0, 1]`` for ``uint8``, unchanged otherwise."""
    if pixels.dtype == np.uint8:
        return torch.from_numpy(pixels).float() / 255.0
    return torch.from_numpy(pixels.astype(np.float32))
