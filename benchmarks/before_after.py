"""Before/after figures for a change: eagerlab's rows of benchmark scripts at an earlier commit and in the working
tree, each run in its own process, alternating the order, best of several rounds (contention only adds time).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/before_after.py REV op_overhead graph_step

PyTorch is hidden from the runs (its rows are not what changed, and its thread pools would disturb ours).
"""
import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

_RUN = """
import json, sys
sys.modules["torch"] = None  # eagerlab's rows only
root = sys.argv[1]
sys.path[:0] = [root, root + "/benchmarks"]
import importlib
rows = importlib.import_module(sys.argv[2]).rows()
print(json.dumps([(name, unit, ours, better) for name, unit, ours, _, better in rows]))
"""


def _export(rev, into):
    """The tree of commit `rev`, unpacked into `into` (no worktree, so nothing is left in the repository)."""
    archive = subprocess.run(["git", "-C", ROOT, "archive", rev], check=True, capture_output=True).stdout
    path = os.path.join(into, "tree.tar")
    with open(path, "wb") as f:
        f.write(archive)
    with tarfile.open(path) as tar:
        tar.extractall(into, filter="data")
    return into


def _rows(root, script):
    if not os.path.exists(os.path.join(root, "benchmarks", script + ".py")):
        return []  # a figure added by the change: no "before"
    out = subprocess.run([sys.executable, "-c", _RUN, root, script], check=True, capture_output=True, text=True,
                         env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="the commit to compare against (the 'before')")
    parser.add_argument("scripts", nargs="+", help="benchmark script names, e.g. op_overhead graph_step")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        roots = {"before": _export(args.rev, tmp), "after": ROOT}
        best = {}
        for r in range(args.rounds):
            for label in (("before", "after") if r % 2 == 0 else ("after", "before")):
                for script in args.scripts:
                    for name, unit, value, better in _rows(roots[label], script):
                        key = (name, unit, better)
                        prev = best.setdefault(key, {}).get(label)
                        pick = min if better == "lower" else max
                        best[key][label] = value if prev is None else pick(prev, value)
    width = max(len(k[0]) for k in best) + 2
    print(f"{'benchmark':<{width}}{'unit':>9}{'before':>10}{'after':>10}{'after/before':>14}")
    for (name, unit, _), v in best.items():
        before = f"{v['before']:.2f}" if "before" in v else "-"
        ratio = f"{v['after'] / v['before']:.2f}" if "before" in v else "-"
        print(f"{name:<{width}}{unit:>9}{before:>10}{v['after']:>10.2f}{ratio:>14}")
    print(f"best of {args.rounds} rounds per side, alternating; before = {args.rev}")


if __name__ == "__main__":
    main()
