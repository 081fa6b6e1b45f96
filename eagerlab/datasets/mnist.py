"""MNIST and FashionMNIST, read from IDX files (torchvision's names, arguments and file layout).

Differences from torchvision, since eagerlab has no PIL: without a transform an image is a uint8 (28, 28) tensor
(torchvision gives a PIL image); `transforms.ToTensor()` turns it into float (1, 28, 28) in [0, 1] as it would.
Targets are Python ints per item and `.targets` an int64 tensor, as in torchvision.
"""
import os

import numpy as np

from .._tensor import Tensor
from ..backend import CPU
from ..data.collate import default_collate
from ..data.dataset import Dataset
from ..errors import FileFormatError
from ._idx import download, read_idx
from .transforms import batched


class MNIST(Dataset):
    """The MNIST digits: 60,000 training or 10,000 test images (train=True/False).

    The files are looked for in `root/MNIST/raw/` (torchvision's layout) and then in `root` itself, each either
    plain or gzipped. download=True fetches missing files from `mirrors` into `root/MNIST/raw/`, checking the
    published MD5 checksums. The DataLoader fetches whole batches at once (`__getbatch__`) when `transform` and
    `target_transform` work on batches (None, ToTensor, Normalize, a Compose of them; see transforms).
    """

    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ]
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
               "8 - eight", "9 - nine"]

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        self.root = os.path.expanduser(os.fspath(root))
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        if download and not self._check_exists():
            self.download()
        images, labels = (self._find(name) for name in self._split_files())
        self.data, self.targets = _load_pair(images, labels)

    # ---- files ---------------------------------------------------------------------------------------------
    @property
    def raw_folder(self):
        return os.path.join(self.root, type(self).__name__, "raw")

    def _split_files(self):
        prefix = "train" if self.train else "t10k"
        return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"

    def _candidates(self, name):
        return [os.path.join(folder, name + ext) for folder in (self.raw_folder, self.root) for ext in ("", ".gz")]

    def _check_exists(self):
        return all(any(os.path.isfile(p) for p in self._candidates(n)) for n in self._split_files())

    def _find(self, name):
        for path in self._candidates(name):
            if os.path.isfile(path):
                return path
        raise RuntimeError(f"Dataset not found: {type(self).__name__} needs {name} (or {name}.gz) in "
                           f"{self.raw_folder} or {self.root}. You can use download=True to download it")

    def download(self):
        """Fetch the missing files of both splits into raw_folder, each verified against its MD5."""
        for filename, md5 in self.resources:
            if not any(os.path.isfile(p) for p in self._candidates(filename[:-len(".gz")])):
                download([m + filename for m in self.mirrors], os.path.join(self.raw_folder, filename), md5)

    # ---- samples -------------------------------------------------------------------------------------------
    def __len__(self):
        return len(self.data)

    def __getitem__(self, index):
        img = Tensor._make(self.data._data[index], CPU)
        target = int(self.targets._data[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __getbatch__(self, indices):
        """[images, targets] for a batch, as default_collate of the items would give: one fancy-index per array
        and one batched transform when the transforms allow it, else item by item."""
        idx = np.asarray(indices, dtype=np.int64)
        transform, target_transform = batched(self.transform), batched(self.target_transform)
        if transform is None or target_transform is None:
            return default_collate([self[i] for i in idx.tolist()])
        images = Tensor._make(self.data._data.take(idx, axis=0), CPU)
        targets = Tensor._make(self.targets._data.take(idx), CPU)
        return [transform(images), target_transform(targets)]

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

    def __repr__(self):
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}",
                 f"    Root location: {self.root}", f"    Split: {'Train' if self.train else 'Test'}"]
        for name in ("transform", "target_transform"):
            if getattr(self, name) is not None:
                lines.append(f"    {name}: {getattr(self, name)!r}".replace("\n", "\n    "))
        return "\n".join(lines)


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: 28x28 grayscale clothing images in 10 classes, MNIST's format and sizes."""

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]


def _load_pair(images_path, labels_path):
    """(uint8 images (N, H, W), int64 labels (N,)) as tensors, checked to be an image file and its label file."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise FileFormatError(f"{images_path}: expected uint8 images of 3 dims (N, H, W), got {images.dtype.name} "
                              f"of shape {images.shape}")
    if labels.ndim != 1:
        raise FileFormatError(f"{labels_path}: expected labels of 1 dim (N,), got shape {labels.shape}")
    if len(images) != len(labels):
        raise FileFormatError(f"{labels_path}: {len(labels)} labels for the {len(images)} images of {images_path}")
    return Tensor._make(images, CPU), Tensor._make(labels.astype(np.int64), CPU)
