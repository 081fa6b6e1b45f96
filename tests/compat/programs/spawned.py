"""A child process started with the 'spawn' method re-imports torch: it must get eagerlab too."""
import json
import multiprocessing as mp

import torch


def work(queue):
    import torch

    queue.put([torch.__name__, torch.ones(2).sum().item()])


if __name__ == "__main__":
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=work, args=(queue,))
    child.start()
    got = queue.get(timeout=120)
    child.join()
    print(json.dumps({"parent": torch.__name__, "child": got, "exitcode": child.exitcode}))
