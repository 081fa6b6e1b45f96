"""One epoch of DataLoader(batch_size=32, shuffle=True) over 60000 x 784 float32 rows and int64 labels (MNIST's
size): a TensorDataset (eagerlab's batched fast path: one fancy-index per tensor), a Dataset whose __getitem__
returns one numpy row and an int (the general item-by-item path), the same with tensor rows, and the
TensorDataset through 2 worker processes. Each figure is the best of a few epochs, eagerlab and PyTorch
alternating so that machine noise hits both."""
import time

import numpy as np

from _timing import try_torch

import eagerlab as el
from eagerlab.data import DataLoader, Dataset, TensorDataset

N, D, BATCH, REPEATS = 60000, 784, 32, 3


class _Rows:
    """Dataset body shared by eagerlab's and PyTorch's Dataset classes: row i and label i."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


class _NumpyRows(_Rows):
    def __getitem__(self, i):
        return self.x[i], int(self.y[i])


def _epoch_ms(loader):
    t0 = time.perf_counter()
    for _ in loader:
        pass
    return (time.perf_counter() - t0) * 1e3


def _cases(lib, data, tensor_data, base):
    """name -> a loader factory, for eagerlab (lib=None) or PyTorch."""
    Loader = DataLoader if lib is None else lib.utils.data.DataLoader
    TDS = TensorDataset if lib is None else lib.utils.data.TensorDataset
    np_rows = type("NumpyRows", (_NumpyRows, base), {})
    t_rows = type("TensorRows", (_Rows, base), {})
    kw = dict(batch_size=BATCH, shuffle=True)
    return {
        "TensorDataset (fast path)": lambda: Loader(TDS(*tensor_data), **kw),
        "Dataset, numpy row per item": lambda: Loader(np_rows(*data), **kw),
        "Dataset, tensor row per item": lambda: Loader(t_rows(*tensor_data), **kw),
        "TensorDataset, num_workers=2": lambda: Loader(TDS(*tensor_data), num_workers=2, **kw),
    }


def rows():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((N, D), dtype=np.float32), rng.integers(0, 10, N)
    ours = _cases(None, (x, y), (el.from_numpy(x), el.from_numpy(y)), Dataset)
    torch = try_torch()
    theirs = _cases(torch, (x, y), (torch.from_numpy(x), torch.from_numpy(y)), torch.utils.data.Dataset) \
        if torch else {}
    out = []
    for name, make in ours.items():
        t_ours, t_theirs = [], []
        for _ in range(REPEATS):
            t_ours.append(_epoch_ms(make()))
            if torch:
                t_theirs.append(_epoch_ms(theirs[name]()))
        out.append((f"DataLoader epoch: {name}", "ms", min(t_ours), min(t_theirs) if torch else None, "lower"))
    return out


if __name__ == "__main__":
    from run import print_table

    print_table(rows())
