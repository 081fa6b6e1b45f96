"""Run on 2 ranks: the seed MLP (784-128-10) trained 20 steps with DistributedDataParallel, each rank on half of
every batch and seeded differently, against single-process training on the full batches (computed on every
rank), eagerly and as one compiled step; then no_sync accumulation and the state_dict keys."""
import sys

import numpy as np

import eagerlab as el
import eagerlab.distributed as dist
from eagerlab import nn
from eagerlab.nn.parallel import DistributedDataParallel

dist.init_process_group(timeout=30)
rank, world = dist.get_rank(), dist.get_world_size()


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))


def train_step(model, optimizer, x, y):
    optimizer.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    return loss


data = np.random.default_rng(0)
X = data.standard_normal((20, 64, 784)).astype(np.float32)
Y = data.integers(0, 10, (20, 64))
half = 64 // world
worst = {}
for compiled in (False, True):
    el.manual_seed(0)
    reference = mlp()
    ref_opt = el.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    el.manual_seed(1000 * rank)  # every rank starts elsewhere: the broadcast at construction fixes that
    ddp = DistributedDataParallel(mlp(), bucket_cap_mb=0.004)  # several buckets: 40 + 5120 B, then fc1
    assert ddp.bucket_names() == [["3.bias", "3.weight"], ["1.bias", "1.weight"]], ddp.bucket_names()
    opt = el.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    step = el.function(train_step) if compiled else train_step
    for i in range(20):
        train_step(reference, ref_opt, el.tensor(X[i]), el.tensor(Y[i]))
        mine = slice(rank * half, (rank + 1) * half)
        step(ddp, opt, el.tensor(X[i, mine]), el.tensor(Y[i, mine]))
    worst[compiled] = max(float(np.abs(a.detach().numpy() - b.detach().numpy()).max())
                          for a, b in zip(reference.parameters(), ddp.module.parameters()))
    if compiled:
        graph = str(step.graph)
        assert "all-reduce bucket 0 start" in graph and "all-reduce wait and average" in graph, graph
assert worst[False] < 1e-5 and worst[True] < 1e-5, worst

# no_sync: two half-batches accumulated locally, averaged by the synchronized backward of the second
el.manual_seed(rank)
ddp = DistributedDataParallel(mlp())
x, y = el.tensor(X[0]), el.tensor(Y[0])
el.manual_seed(0)
reference = mlp()
reference.load_state_dict(ddp.module.state_dict())
nn.functional.cross_entropy(reference(x), y).backward()
quarter = 64 // (2 * world)
parts = [slice((2 * rank + k) * quarter, (2 * rank + k + 1) * quarter) for k in range(2)]
with ddp.no_sync():
    (nn.functional.cross_entropy(ddp(x[parts[0]]), y[parts[0]]) / 2).backward()
(nn.functional.cross_entropy(ddp(x[parts[1]]), y[parts[1]]) / 2).backward()
for a, b in zip(reference.parameters(), ddp.module.parameters()):
    assert np.allclose(a.grad.numpy(), b.grad.numpy(), atol=1e-6), float(np.abs(a.grad.numpy() - b.grad.numpy()).max())

# a backward that raises halfway (bucket 0 launched, bucket 1 not) leaves nothing stale: the next one averages


def fail_in_backward(module, inputs, output):
    def hook(grad):
        raise RuntimeError("planned")
    output.register_hook(hook)


fresh = mlp()
fresh.load_state_dict(reference.state_dict())
ddp = DistributedDataParallel(fresh, bucket_cap_mb=0.004)
handle = ddp.module[2].register_forward_hook(fail_in_backward)
try:
    nn.functional.cross_entropy(ddp(x[parts[0]]), y[parts[0]]).backward()
    raise AssertionError("the backward did not raise")
except RuntimeError as e:
    assert "planned" in str(e)
handle.remove()
for p in ddp.parameters():
    p.grad = None
(nn.functional.cross_entropy(ddp(x[rank * half:(rank + 1) * half]), y[rank * half:(rank + 1) * half])).backward()
for a, b in zip(reference.parameters(), ddp.module.parameters()):
    assert np.allclose(a.grad.numpy(), b.grad.numpy(), atol=1e-6), float(np.abs(a.grad.numpy() - b.grad.numpy()).max())
assert list(ddp.state_dict())[:2] == ["module.1.weight", "module.1.bias"]
assert list(ddp.module.state_dict())[:2] == ["1.weight", "1.bias"]
print(f"rank {rank}: ok max difference eager {worst[False]:.2e} compiled {worst[True]:.2e}")
sys.stdout.flush()
