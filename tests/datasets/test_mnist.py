"""IDX parsing (valid, corrupt, truncated, gzipped), MNIST/FashionMNIST loading from both layouts, the batched
fast path, checksum-verified downloads (from local file:// mirrors: no network needed) and the real MNIST test
split when /work/shared/data/mnist is present."""
import gzip
import hashlib
import os

import numpy as np
import pytest

import eagerlab as el
from eagerlab.data import DataLoader, default_collate
from eagerlab.datasets import MNIST, FashionMNIST
from eagerlab.datasets import transforms as T
from eagerlab.datasets._idx import download, read_idx
from eagerlab.errors import FileFormatError

REAL = "/work/shared/data/mnist"


def idx_bytes(arr, code=0x08):
    header = bytes([0, 0, code, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write(path, data, gz=False):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with (gzip.open if gz else open)(path, "wb") as f:
        f.write(data)
    return str(path)


def fake_split(folder, prefix, n=7, gz=False, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    ext = ".gz" if gz else ""
    write(os.path.join(folder, f"{prefix}-images-idx3-ubyte{ext}"), idx_bytes(images), gz)
    write(os.path.join(folder, f"{prefix}-labels-idx1-ubyte{ext}"), idx_bytes(labels), gz)
    return images, labels


# ---- IDX -------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("dtype,code", [(np.uint8, 0x08), (np.int16, 0x0B), (np.int32, 0x0C), (np.float32, 0x0D),
                                        (np.float64, 0x0E)])
def test_read_idx_round_trip(tmp_path, gz, dtype, code):
    arr = (np.arange(24) - 5).reshape(2, 3, 4).astype(dtype) if dtype != np.uint8 else np.arange(24, dtype=dtype)
    path = write(tmp_path / ("a.idx" + (".gz" if gz else "")), idx_bytes(arr, code), gz)
    got = read_idx(path)
    assert got.dtype == np.dtype(dtype) and got.dtype.isnative
    np.testing.assert_array_equal(got, arr)


CORRUPT = [
    (b"\x00\x00", "too short for an IDX header"),
    (b"\x01\x00\x08\x01" + (3).to_bytes(4, "big") + b"abc", "bad IDX magic number 0x01000801"),
    (b"\x00\x00\x07\x01" + (3).to_bytes(4, "big") + b"abc", "bad IDX magic number 0x00000701"),
    (b"\x00\x00\x08\x00", "bad IDX magic number"),
    (b"\x00\x00\x08\x03" + (3).to_bytes(4, "big"), "truncated header: 3 dims need 16 bytes"),
    (b"\x00\x00\x08\x01" + (5).to_bytes(4, "big") + b"abc", r"truncated: header says shape \(5,\)"),
    (b"\x00\x00\x08\x01" + (2).to_bytes(4, "big") + b"abc", "trailing bytes"),
]


@pytest.mark.parametrize("data,message", CORRUPT)
def test_corrupt_idx_raises_naming_the_file(tmp_path, data, message):
    path = write(tmp_path / "bad-idx", data)
    with pytest.raises(FileFormatError, match=message) as info:
        read_idx(path)
    assert path in str(info.value) and isinstance(info.value, ValueError)


def test_truncated_gzip_raises_naming_the_file(tmp_path):
    whole = gzip.compress(idx_bytes(np.zeros((50, 28, 28), np.uint8)))
    path = write(tmp_path / "cut.gz", whole[: len(whole) // 2])
    with pytest.raises(FileFormatError, match="cut.gz: not a complete gzip file"):
        read_idx(path)


# ---- MNIST from local files ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("layout,gz", [("torchvision", False), ("torchvision", True), ("flat", True)])
def test_mnist_reads_both_layouts(tmp_path, layout, gz):
    folder = tmp_path / "MNIST" / "raw" if layout == "torchvision" else tmp_path
    images, labels = fake_split(str(folder), "train", gz=gz)
    fake_split(str(folder), "t10k", n=3, gz=gz, seed=1)
    ds = MNIST(tmp_path)
    assert len(ds) == 7 and len(MNIST(tmp_path, train=False)) == 3
    assert ds.data.dtype == el.uint8 and ds.data.shape == (7, 28, 28) and ds.targets.dtype == el.int64
    img, target = ds[2]
    assert img.dtype == el.uint8 and img.shape == (28, 28) and type(target) is int
    np.testing.assert_array_equal(img.numpy(), images[2])
    assert target == labels[2]
    assert "Split: Train" in repr(ds) and ds.class_to_idx["3 - three"] == 3


def test_fashion_mnist_uses_its_own_folder(tmp_path):
    fake_split(str(tmp_path / "FashionMNIST" / "raw"), "t10k", n=4)
    ds = FashionMNIST(tmp_path, train=False, target_transform=lambda t: FashionMNIST.classes[t])
    assert ds.raw_folder.endswith(os.path.join("FashionMNIST", "raw")) and ds[0][1] in FashionMNIST.classes
    with pytest.raises(RuntimeError, match="Dataset not found"):
        MNIST(tmp_path, train=False)


def test_missing_files_say_how_to_download(tmp_path):
    with pytest.raises(RuntimeError, match=r"MNIST needs train-images-idx3-ubyte.*You can use download=True"):
        MNIST(tmp_path)


def test_mismatched_files_raise(tmp_path):
    fake_split(str(tmp_path), "train", n=5)
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(np.zeros(4, np.uint8)))
    with pytest.raises(FileFormatError, match="4 labels for the 5 images"):
        MNIST(tmp_path)
    write(tmp_path / "train-images-idx3-ubyte", idx_bytes(np.zeros((4, 28), np.uint8)))
    with pytest.raises(FileFormatError, match="expected uint8 images of 3 dims"):
        MNIST(tmp_path)


def test_transforms_and_batched_fast_path(tmp_path):
    fake_split(str(tmp_path), "train", n=9)
    tf = T.Compose([T.ToTensor(), T.Normalize((0.1307,), (0.3081,))])
    ds = MNIST(tmp_path, transform=tf)
    x, _ = ds[0]
    assert x.shape == (1, 28, 28) and x.dtype == el.float32
    idx = np.array([3, 0, 8, 3])
    fast, slow = ds.__getbatch__(idx), default_collate([ds[i] for i in idx.tolist()])
    assert fast[0].shape == (4, 1, 28, 28)
    np.testing.assert_allclose(fast[0].numpy(), slow[0].numpy(), rtol=1e-6)
    np.testing.assert_array_equal(fast[1].numpy(), slow[1].numpy())
    plain = MNIST(tmp_path)
    np.testing.assert_array_equal(plain.__getbatch__(idx)[0].numpy(), default_collate([plain[i][0] for i in idx]))
    doubled = MNIST(tmp_path, transform=T.Compose([T.ToTensor(), T.Lambda(lambda t: t * 2)]))  # no batch form
    np.testing.assert_allclose(doubled.__getbatch__(idx)[0].numpy(), 2 * slow[0].numpy() * 0.3081 + 2 * 0.1307,
                               rtol=1e-5)
    batches = list(DataLoader(ds, batch_size=4, shuffle=True))
    assert [b[0].shape[0] for b in batches] == [4, 4, 1]


# ---- download --------------------------------------------------------------------------------------------------------
def mirror(tmp_path, names):
    """A local mirror folder holding gzipped fake files; returns (file:// url, {name: md5})."""
    src = tmp_path / "mirror"
    digests = {}
    for k, name in enumerate(names):
        arr = np.zeros((3, 28, 28), np.uint8) + k if "images" in name else np.arange(3, dtype=np.uint8)
        path = write(src / name, gzip.compress(idx_bytes(arr)))
        digests[name] = hashlib.md5(open(path, "rb").read()).hexdigest()
    return src.as_uri() + "/", digests


FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz"]


def local_mnist(url, digests, first_mirror=None):
    class LocalMNIST(MNIST):
        mirrors = ([first_mirror] if first_mirror else []) + [url]
        resources = [(name, digests[name]) for name in FILES]

    LocalMNIST.__name__ = "MNIST"
    return LocalMNIST


def test_download_verifies_and_places_files(tmp_path):
    url, digests = mirror(tmp_path, FILES)
    root = tmp_path / "root"
    dead = (tmp_path / "nowhere").as_uri() + "/"  # a mirror that fails: the next one is tried
    ds = local_mnist(url, digests, first_mirror=dead)(root, download=True)
    assert len(ds) == 3 and sorted(os.listdir(root / "MNIST" / "raw")) == sorted(FILES)
    assert local_mnist(url, digests)(root, train=False, download=True)[1][1] == 1


def test_download_rejects_a_bad_checksum_and_keeps_nothing(tmp_path):
    url, digests = mirror(tmp_path, FILES)
    digests[FILES[0]] = "0" * 32
    root = tmp_path / "root"
    with pytest.raises(FileFormatError, match=r"train-images-idx3-ubyte.gz.*md5 checksum [0-9a-f]{32} does not match"):
        local_mnist(url, digests)(root, download=True)
    assert os.listdir(root / "MNIST" / "raw") == []  # no partial or unverified file


def test_download_failure_lists_every_mirror(tmp_path):
    urls = [(tmp_path / "a").as_uri() + "/x.gz", (tmp_path / "b").as_uri() + "/x.gz"]
    with pytest.raises(RuntimeError, match=r"could not download x.gz; tried:\n.*/a/x.gz.*\n.*/b/x.gz"):
        download(urls, str(tmp_path / "out" / "x.gz"), "0" * 32)
    assert not os.path.exists(tmp_path / "out" / "x.gz")


# ---- the real files ----------------------------------------------------------------------------------------------
@pytest.mark.skipif(not os.path.isdir(REAL), reason="real MNIST files not present")
def test_real_mnist_test_split():
    ds = MNIST(REAL, train=False, transform=T.ToTensor())
    assert len(ds) == 10000 and ds.data.shape == (10000, 28, 28)
    assert ds.targets[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]  # the well-known first test labels
    assert np.bincount(ds.targets.numpy()).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    x, y = ds[0]
    assert x.shape == (1, 28, 28) and 0 <= x.min().item() and x.max().item() == 1.0
