"""Run on 2 ranks: the collectives' values (eager, asynchronous, compiled), the set-up checks, the sampler's
partition. Prints one `ok` line per rank."""
import eagerlab as el
import eagerlab.distributed as dist
from eagerlab.errors import DistributedError
from eagerlab.utils.data import DistributedSampler

try:  # a world size that disagrees with the launcher's
    dist.init_process_group(world_size=3, timeout=20)
    raise AssertionError("world_size=3 under 2 processes was accepted")
except DistributedError as e:
    assert "world_size=3" in str(e) and "started 2 processes" in str(e), e
dist.init_process_group(timeout=20)
r, n = dist.get_rank(), dist.get_world_size()
assert (n, dist.get_backend(), dist.is_initialized()) == (2, "mpi", True)

t = el.tensor([1.0, 2.0, 3.0]) * (r + 1)
data = t._data
dist.all_reduce(t)
assert t.tolist() == [3.0, 6.0, 9.0] and t._data is data  # in place, on the tensor's own array
for op, want in [(dist.ReduceOp.AVG, 1.5), (dist.ReduceOp.MAX, 2.0), (dist.ReduceOp.MIN, 1.0),
                 (dist.ReduceOp.PRODUCT, 2.0)]:
    t = el.full((2,), float(r + 1))
    dist.all_reduce(t, op)
    assert t.tolist() == [want, want], (op, t.tolist())
t = el.arange(6, dtype=el.int64).reshape(2, 3).t() * (r + 1)  # non-contiguous, integer
dist.all_reduce(t)
assert t.tolist() == [[0, 9], [3, 12], [6, 15]], t.tolist()

t = el.full((2, 2), float(r))
dist.broadcast(t, src=1)
assert t.tolist() == [[1.0, 1.0], [1.0, 1.0]]

outs = [el.zeros(3) for _ in range(n)]
dist.all_gather(outs, el.arange(3.0) + 10 * r)
assert [o.tolist() for o in outs] == [[0.0, 1.0, 2.0], [10.0, 11.0, 12.0]]
big = el.zeros(4)
dist.all_gather_into_tensor(big, el.full((2,), float(r)))
assert big.tolist() == [0.0, 0.0, 1.0, 1.0]

out = el.zeros(2)
dist.reduce_scatter(out, [el.full((2,), float(10 * r + i)) for i in range(n)])
assert out.tolist() == [float(10 + 2 * r)] * 2, out.tolist()  # rank r gets sum over ranks q of 10q + r
out = el.zeros(2)
dist.reduce_scatter_tensor(out, el.arange(4.0) * (r + 1), op=dist.ReduceOp.AVG)
assert out.tolist() == [[0.0, 1.5], [3.0, 4.5]][r], out.tolist()

work = dist.all_reduce(el.ones(1000), async_op=True)
assert work.wait() is True and work.is_completed()
dist.barrier()
objects = [{"dir": "version_0"}, 3] if r == 0 else [None, None]
dist.broadcast_object_list(objects)
assert objects == [{"dir": "version_0"}, 3]

@el.function
def compiled(x):
    y = x * 2
    dist.all_reduce(y)  # a graph effect, run at its place in every call
    return y + 1

for k in range(2):
    assert compiled(el.full((2,), float(r + k))).tolist() == [4.0 * k + 3] * 2
assert "call all_reduce" in str(compiled.graph)

parts = []
for shuffle in (False, True):
    sampler = DistributedSampler(list(range(11)), shuffle=shuffle, seed=3)
    sampler.set_epoch(1)
    mine = list(sampler)
    gathered = [el.zeros(len(mine), dtype=el.int64) for _ in range(n)]
    dist.all_gather(gathered, el.tensor(mine))
    every = [i for g in gathered for i in g.tolist()]
    assert len(mine) == 6 and sorted(set(every)) == list(range(11)) and len(every) == 12, every  # one pad
dist.destroy_process_group()
assert not dist.is_initialized()
print(f"rank {r}: ok")
