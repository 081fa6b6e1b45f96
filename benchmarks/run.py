"""Print the headline table (benchmarks/headline.py: issue 16's cases, eagerlab and PyTorch each in its own
process, alternating, with the numpy ceiling where one exists), then with --all every other benchmark script's rows
(timed in this one process, side by side with PyTorch when it is installed).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/run.py [--cpu] [--rounds 3] [--all] [script...]

Quote ratios from one run: these machines are shared and noisy (docs/performance.md has the method).
"""
import argparse
import importlib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

SCRIPTS = ["op_overhead", "optimizer_step", "mlp_step", "graph_step", "compiled_call", "cnn_step", "dcgan_step",
           "dataloader", "serialization", "checksums", "keras_fit", "lightning_fit", "rnn_step", "gpt_step",
           "activation_step"]


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
    """The rows of the named scripts (default: all that exist here; rnn_step may not yet), in this process."""
    rows = []
    for name in names or [s for s in SCRIPTS if os.path.exists(os.path.join(HERE, s + ".py"))]:
        rows.extend(importlib.import_module(name).rows())
    print_table(rows)


if __name__ == "__main__":
    import headline

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scripts", nargs="*", help="only these scripts' rows (no headline table)")
    parser.add_argument("--all", action="store_true", help="the other scripts' rows too, after the headline table")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cpu", action="store_true", help="headline: one thread each, thread CPU time")
    args = parser.parse_args()
    if not args.scripts:
        headline.print_table(headline.rows(headline.measure(args.rounds, cpu=args.cpu)))
    if args.scripts or args.all:
        main(args.scripts or None)
