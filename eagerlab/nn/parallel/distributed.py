"""DistributedDataParallel: one model replica per process, gradients averaged over the processes after backward.

At construction rank 0's parameters and buffers are broadcast, so every replica starts equal. The parameters are
grouped into buckets (about bucket_cap_mb each, in reverse registration order, which is roughly the order backward
produces their gradients). When backward has accumulated the last gradient of a bucket (a post-accumulate grad
hook), the bucket's gradients are copied into one flat buffer and a non-blocking all-reduce of it starts, so
communication overlaps the rest of backward; at the end of backward (an engine callback) every bucket is waited
for, divided by the world size and copied back into .grad. Inside a compiled train step both the launches and the
wait are graph effects (Interpreter.deferred_call) at the same places.
"""
import contextlib

from ...autograd import queue_callback
from ...autograd.engine import current_backward
from ...autograd.interpreter import current
from ...distributed import process_group
from ...errors import DistributedError, UnsupportedError
from ..modules.module import Module


class _Bucket:
    """Parameters whose gradients travel in one message: a flat buffer and each parameter's slice of it."""

    def __init__(self, index, params, names):
        self.index, self.params, self.names = index, params, names
        first = params[0]
        self.slices, start = [], 0
        for p in params:
            self.slices.append((start, start + p.numel()))
            start += p.numel()
        self.flat = first._device.xp.empty(start, first._data.dtype)
        self.ready, self.request = set(), None

    def nbytes(self):
        return self.flat.nbytes


def _buckets(named, cap_bytes):
    """Reverse registration order, split when a bucket passes cap_bytes or the dtype or device changes."""
    buckets, params, names, size, key = [], [], [], 0, None
    for name, p in reversed(named):
        k = (p._data.dtype, p._device)
        if params and (k != key or size >= cap_bytes):
            buckets.append(_Bucket(len(buckets), params, names))
            params, names, size = [], [], 0
        params.append(p)
        names.append(name)
        size += p._data.nbytes
        key = k
    if params:
        buckets.append(_Bucket(len(buckets), params, names))
    return buckets


class DistributedDataParallel(Module):
    """Wrap `module` for data-parallel training over the default process group (init_process_group first).

    Each process feeds its own part of the data; after loss.backward() every parameter's .grad is the average of
    the processes' gradients, so the optimizers step alike and the replicas stay equal. `no_sync()` skips the
    averaging (gradient accumulation: the next synchronized backward averages the accumulated sums).
    find_unused_parameters=True lets a backward leave parameters without gradient (taken as zero); otherwise that
    is an error naming them. The wrapper's state_dict has PyTorch's `module.` prefix; `.module.state_dict()` is
    the plain module's."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 process_group=None, bucket_cap_mb=25, find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False):
        super().__init__()
        if dim != 0:
            raise UnsupportedError(f"DistributedDataParallel(dim={dim}): only dim=0 is supported")
        if gradient_as_bucket_view:
            raise UnsupportedError("DistributedDataParallel(gradient_as_bucket_view=True) is not supported yet")
        if bucket_cap_mb is None or bucket_cap_mb <= 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be positive, got {bucket_cap_mb!r}")
        self._engine = process_group_engine(process_group)
        self.module = module
        self.world_size = self._engine.size
        self.broadcast_buffers, self.find_unused_parameters = broadcast_buffers, find_unused_parameters
        self.require_backward_grad_sync = True
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        for name, p in named:
            self._engine.check_device(p._device, f"DistributedDataParallel (parameter {name})")
        self._sync_module_states()
        self._bucket_list = _buckets(named, bucket_cap_mb * 2**20)
        self._bucket_of = {}
        for b in self._bucket_list:
            for i, p in enumerate(b.params):
                self._bucket_of[id(p)] = (b, i)
        self._backward = None  # the backward whose gradients the buckets are collecting
        self._grad_hook_handles = [p.register_post_accumulate_grad_hook(self._grad_ready) for _, p in named]

    def forward(self, *args, **kwargs):
        if self.broadcast_buffers and self.training:
            buffers = [b for b in self.module.buffers() if b is not None]
            if buffers:
                self._broadcast(buffers)
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """Backward inside this block accumulates local gradients without averaging them (eager steps only: a
        compiled step keeps what it was traced with)."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    def bucket_names(self):
        """The parameters' names per bucket, in the order their all-reduces start."""
        return [list(b.names) for b in self._bucket_list]

    # ---- the start: everyone takes rank 0's state -------------------------------------------------------------
    def _sync_module_states(self):
        from ...autograd import no_grad

        tensors = [p for p in self.module.parameters()] + [b for b in self.module.buffers() if b is not None]
        with no_grad():
            self._broadcast(tensors)

    def _broadcast(self, tensors):
        """Rank 0's values of `tensors`, one message per dtype and device."""
        groups = {}
        for t in tensors:
            groups.setdefault((t._data.dtype, t._device), []).append(t)
        for group in groups.values():
            current().deferred_call("DistributedDataParallel: broadcast from rank 0", self._broadcast_now,
                                    tuple(group), {})

    def _broadcast_now(self, *tensors):
        xp = tensors[0]._device.xp
        flat = xp.concatenate([t._data.reshape(-1) for t in tensors])
        self._engine.wait([self._engine.ibroadcast(flat, 0)], "DistributedDataParallel: broadcast from rank 0")
        start = 0
        for t in tensors:
            n = t._data.size
            t._data[...] = flat[start:start + n].reshape(t._data.shape)
            t._bump()
            start += n

    # ---- backward: buckets launched as they fill, waited for at the end ---------------------------------------
    def _grad_ready(self, param):
        if not self.require_backward_grad_sync:
            return
        backward = current_backward()
        if self._backward is not backward:  # the first gradient of this backward
            self._backward = backward
            self._drain()
            for b in self._bucket_list:
                b.ready.clear()
            queue_callback(self._end_of_backward)
        bucket, i = self._bucket_of[id(param)]
        bucket.ready.add(i)
        if len(bucket.ready) == len(bucket.params):
            self._launch(bucket)

    def _launch(self, bucket):
        grads = tuple(p.grad for p in bucket.params)
        current().deferred_call(f"DistributedDataParallel: all-reduce bucket {bucket.index} start", self._start,
                                (bucket, *grads), {})

    def _start(self, bucket, *grads):
        flat = bucket.flat
        for (a, b), g in zip(bucket.slices, grads):
            flat[a:b] = g._data.reshape(-1)
        bucket.request = self._engine.iallreduce(flat, "sum")
        self._engine.test([b.request for b in self._bucket_list if b.request is not None])  # (drives progress)

    def _drain(self):
        """Complete all-reduces left in flight by a backward that raised before its end (their buffers are about
        to be refilled)."""
        pending = [b.request for b in self._bucket_list if b.request is not None]
        if pending:
            self._engine.wait(pending, "DistributedDataParallel: all-reduce left by an interrupted backward")
            for b in self._bucket_list:
                b.request = None

    def _end_of_backward(self):
        self._backward = None
        missing = [(b, i) for b in self._bucket_list for i in range(len(b.params)) if i not in b.ready]
        if missing and not self.find_unused_parameters:
            names = ", ".join(f"module.{b.names[i]}" for b, i in missing)
            raise DistributedError(f"DistributedDataParallel: these parameters received no gradient in this "
                                   f"backward: {names}. Pass find_unused_parameters=True if the forward leaves "
                                   "them out on purpose (their gradient then counts as zero)")
        for b, i in missing:  # find_unused_parameters: zero gradients, so every rank sends every bucket
            p = b.params[i]
            if p.grad is None:
                from ...ops.creation import zeros_like

                p.grad = zeros_like(p)
            b.ready.add(i)
        for b in {id(b): b for b, _ in missing}.values():
            self._launch(b)
        grads = tuple(p.grad for b in self._bucket_list for p in b.params)
        current().deferred_call("DistributedDataParallel: all-reduce wait and average", self._finish, grads, {})

    def _finish(self, *grads):
        requests = [b.request for b in self._bucket_list]
        self._engine.wait(requests, "DistributedDataParallel: gradient all-reduce")
        it = iter(grads)
        for b in self._bucket_list:
            b.flat /= self.world_size
            b.request = None
            for (start, stop), p in zip(b.slices, b.params):
                g = next(it)
                g._data[...] = b.flat[start:stop].reshape(g._data.shape)
                g._bump()


def process_group_engine(group):
    if not process_group.is_initialized():
        raise DistributedError("DistributedDataParallel: the default process group has not been initialized; "
                               "call eagerlab.distributed.init_process_group() first")
    return process_group.engine("DistributedDataParallel", group)
