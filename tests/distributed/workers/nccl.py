"""Run on 1 rank with a GPU: the 'nccl' backend's collectives on CUDA tensors, and DistributedDataParallel."""
import eagerlab as el
import eagerlab.distributed as dist
from eagerlab import nn
from eagerlab.nn.parallel import DistributedDataParallel

dist.init_process_group("nccl", timeout=60)
assert dist.get_backend() == "nccl"
t = el.tensor([1.0, 2.0]).cuda()
dist.all_reduce(t, dist.ReduceOp.AVG)
assert t.cpu().tolist() == [1.0, 2.0]
dist.broadcast(t, 0)
outs = [el.zeros(2).cuda()]
dist.all_gather(outs, t)
assert outs[0].cpu().tolist() == [1.0, 2.0]
model = DistributedDataParallel(nn.Linear(3, 2).cuda())
model(el.ones(4, 3).cuda()).sum().backward()
assert model.module.weight.grad.cpu().tolist() == [[4.0] * 3] * 2
dist.destroy_process_group()
print("rank 0: ok")
