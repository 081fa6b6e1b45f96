"""Save and load of a 100 MB float32 state dict (25 weights of 1024x1024 plus 25 biases) to a file in a temp
directory, eagerlab.save/load vs torch.save/torch.load. eagerlab.save also fsyncs the file and its directory (the
atomic write); torch.save does not, so "save" is shown both ways. eagerlab.load verifies every array's checksum (and
the header's); torch.load checks none of the data."""
import io
import os
import tempfile
import time

import numpy as np

from _timing import try_torch

import eagerlab as el


def _state_dict(make):
    rng = np.random.default_rng(0)
    sd = {}
    for i in range(25):
        sd[f"layer{i}.weight"] = make(rng.standard_normal((1024, 1024), dtype=np.float32))
        sd[f"layer{i}.bias"] = make(rng.standard_normal(1024, dtype=np.float32))
    return sd


def _cases(save, load, sd, path):
    return {"save (file, fsync for eagerlab)": lambda: save(sd, path),
            "save (in memory, no fsync)": lambda: save(sd, io.BytesIO()),
            "load (file, checksums verified by eagerlab)": lambda: load(path)}


def _best_ms(fns, repeats=15):
    """Best time of each function, alternating them on every repeat so that machine noise hits both alike."""
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - t0)
    return [b * 1e3 for b in best]


def rows():
    torch = try_torch()
    with tempfile.TemporaryDirectory() as tmp:
        ours = _cases(el.save, el.load, _state_dict(el.from_numpy), os.path.join(tmp, "sd.el"))
        theirs = _cases(torch.save, torch.load, _state_dict(torch.from_numpy),
                        os.path.join(tmp, "sd.pt")) if torch else {}
        out = []
        for name, fn in ours.items():
            times = _best_ms([fn] + ([theirs[name]] if torch else []))
            out.append((f"100 MB state dict: {name}", "ms", times[0], times[1] if torch else None, "lower"))
    return out


if __name__ == "__main__":
    from run import print_table

    print_table(rows())
