"""A child process started with the 'spawn' or 'forkserver' method (argv[1]) re-imports torch: it must get
eagerlab too (a forkserver child inherits the fork server's imports, made before it forked)."""
import json
import multiprocessing as mp
import sys

import torch


def work(queue):
    import torch

    queue.put([torch.__name__, torch.ones(2).sum().item()])


if __name__ == "__main__":
    ctx = mp.get_context(sys.argv[1])
    queue = ctx.Queue()
    child = ctx.Process(target=work, args=(queue,))
    child.start()
    got = queue.get(timeout=120)
    child.join()
    print(json.dumps({"parent": torch.__name__, "child": got, "exitcode": child.exitcode}))
