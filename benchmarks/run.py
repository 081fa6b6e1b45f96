"""Run every benchmark script and print one table, side by side with PyTorch when it is installed.

Quote ratios from one run: these machines are shared and noisy. For stable numbers run with
`env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/run.py`.
"""
import importlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

SCRIPTS = ["op_overhead", "optimizer_step", "mlp_step", "graph_step", "compiled_call", "cnn_step", "dataloader",
           "serialization", "checksums", "keras_fit", "lightning_fit"]


def print_table(rows):
    """rows: (name, unit, eagerlab, pytorch or None, 'lower'|'higher' is better). Ratio > 1 means eagerlab wins."""
    width = max(len(r[0]) for r in rows) + 2
    print(f"{'benchmark':<{width}}{'unit':>9}{'eagerlab':>12}{'pytorch':>12}{'speedup':>10}")
    for name, unit, ours, theirs, better in rows:
        if theirs is None:
            ratio = "-"
            theirs_s = "-"
        else:
            r = theirs / ours if better == "lower" else ours / theirs
            ratio, theirs_s = f"{r:.2f}x", f"{theirs:.2f}"
        print(f"{name:<{width}}{unit:>9}{ours:>12.2f}{theirs_s:>12}{ratio:>10}")
    print("speedup = PyTorch time / eagerlab time (> 1: eagerlab is faster)")


def main(names=None):
    rows = []
    for name in names or SCRIPTS:
        rows.extend(importlib.import_module(name).rows())
    print_table(rows)


if __name__ == "__main__":
    main(sys.argv[1:] or None)
