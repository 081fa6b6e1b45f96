"""Save and load of a 100 MB float32 state dict (25 weights of 1024x1024 plus 25 biases) to a file in a temp
directory, eagerlab.save/load vs torch.save/torch.load. eagerlab.save also fsyncs the file and its directory (the
atomic write); torch.save does not, so "save" is shown both ways. eagerlab.load verifies every array's checksum (and
the header's); torch.load checks none of the data.

Each library runs in its own process, alternating for a few rounds; each figure is the best time over all rounds.
(In one process, right after a torch.load, eagerlab's load measured up to twice its time alone on a loaded 2-core
machine; the cause, perhaps PyTorch's worker threads competing with the checksum thread, is not pinned down.)"""
import io
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from _timing import try_torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROUNDS, REPEATS = 3, 7


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


def _measure(side):
    """{case: best ms} for 'eagerlab' or 'torch', in this process."""
    if side == "torch":
        import torch
        save, load, make = torch.save, torch.load, torch.from_numpy
    else:
        sys.path.insert(0, os.path.dirname(HERE))
        import eagerlab as el
        save, load, make = el.save, el.load, el.from_numpy
    with tempfile.TemporaryDirectory() as tmp:
        cases = _cases(save, load, _state_dict(make), os.path.join(tmp, "sd"))
        best = {}
        for name, fn in cases.items():
            fn()  # warm up (and write the file that load reads)
            times = []
            for _ in range(REPEATS):
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
            best[name] = min(times) * 1e3
    return best


def _run(side):
    out = subprocess.run([sys.executable, __file__, "--side", side], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    return json.loads(out.stdout.splitlines()[-1])


def rows():
    sides = ["eagerlab"] + (["torch"] if try_torch() else [])
    best = {side: {} for side in sides}
    for _ in range(ROUNDS):
        for side in sides:
            for name, ms in _run(side).items():
                best[side][name] = min(ms, best[side].get(name, ms))
    return [(f"100 MB state dict: {name}", "ms", ms, best["torch"][name] if "torch" in best else None, "lower")
            for name, ms in best["eagerlab"].items()]


if __name__ == "__main__":
    if sys.argv[1:2] == ["--side"]:
        print(json.dumps(_measure(sys.argv[2])))
    else:
        from run import print_table

        print_table(rows())
