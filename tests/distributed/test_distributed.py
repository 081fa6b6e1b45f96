"""eagerlab.distributed in one process: what needs no MPI (errors before a group exists, the launcher's command,
DistributedSampler, the Trainer's refusal to run ddp alone) and the autograd/graph pieces DDP is built on."""
import os
import sys

import pytest

import eagerlab as el
import eagerlab.distributed as dist
from eagerlab.autograd import queue_callback
from eagerlab.autograd.interpreter import current
from eagerlab.distributed import run
from eagerlab.errors import AutogradError, DistributedError, UnsupportedError
from eagerlab.nn.parallel import DistributedDataParallel
from eagerlab.utils.data import DataLoader, DistributedSampler, TensorDataset


@pytest.fixture
def alone(monkeypatch):
    """This process as one no launcher started."""
    for var in ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "PMI_SIZE", "PMI_RANK", "PMIX_RANK", "RANK",
                "WORLD_SIZE"):
        monkeypatch.delenv(var, raising=False)


# ---- errors before a process group exists ---------------------------------------------------------------------
@pytest.mark.parametrize("call", [lambda: dist.all_reduce(el.ones(2)), lambda: dist.get_rank(), dist.barrier,
                                  lambda: dist.broadcast(el.ones(2), 0),
                                  lambda: DistributedDataParallel(el.nn.Linear(2, 2))])
def test_collectives_before_init_process_group_name_the_fix(call):
    assert not dist.is_initialized()
    with pytest.raises(DistributedError, match="init_process_group"):
        call()


def test_missing_mpi4py_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # (import mpi4py raises ImportError)
    with pytest.raises(DistributedError, match=r"pip install eagerlab\[distributed\]"):
        dist.init_process_group("mpi")
    assert not dist.is_initialized()


@pytest.mark.parametrize("kwargs, match", [({"backend": "gloo"}, "'mpi'.*'nccl'"),
                                           ({"init_method": "tcp://10.0.0.1:23456"}, "mpiexec"),
                                           ({"timeout": 0}, "timeout must be positive")])
def test_init_process_group_refuses_what_it_cannot_do(kwargs, match):
    with pytest.raises((UnsupportedError, ValueError), match=match):
        dist.init_process_group(**kwargs)


def test_all_reduce_checks_its_op_before_anything():
    with pytest.raises(ValueError, match="op must be one of"):
        dist.all_reduce(el.ones(2), op="mean")
    with pytest.raises(TypeError, match=r"AVG\) needs a floating-point tensor, got int64"):
        dist.all_reduce(el.ones(2, dtype=el.int64), op=dist.ReduceOp.AVG)


# ---- the launcher -------------------------------------------------------------------------------------------------
def test_launcher_command_allows_root_and_oversubscribes_open_mpi_only_when_needed(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    argv, env = run.command(4, ["train.py", "--lr", "0.1"], "/x/mpiexec", open_mpi=True, cpus=2)
    assert argv == ["/x/mpiexec", "--oversubscribe", "-n", "4", sys.executable, "train.py", "--lr", "0.1"]
    assert env == {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    argv, env = run.command(2, ["-m", "pkg.train"], "/x/mpiexec", open_mpi=True, extra=["--hostfile", "h"], cpus=2)
    assert argv == ["/x/mpiexec", "--hostfile", "h", "-n", "2", sys.executable, "-m", "pkg.train"] and env == {}
    argv, env = run.command(8, ["t.py"], "/x/mpiexec", open_mpi=False, cpus=2)  # MPICH: neither is needed
    assert argv == ["/x/mpiexec", "-n", "8", sys.executable, "t.py"] and env == {}


def test_launcher_counts_physical_cores_as_open_mpi_does():
    assert 1 <= run.physical_cores() <= (os.cpu_count() or 1)


def test_launcher_without_mpiexec_says_what_to_install(monkeypatch, capsys):
    monkeypatch.setattr(run, "find_mpiexec", lambda explicit=None: None)
    assert run.main(["-n", "2", "train.py"]) == 2
    assert "pip install eagerlab[distributed]" in capsys.readouterr().err


# ---- DistributedSampler -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("n, replicas, drop_last", [(10, 3, False), (10, 3, True), (2, 5, False), (12, 4, False),
                                                    (12, 4, True)])
def test_distributed_sampler_partitions_as_pytorch_does(n, replicas, drop_last):
    parts = [list(DistributedSampler(range(n), replicas, r, shuffle=False, drop_last=drop_last))
             for r in range(replicas)]
    length = len(DistributedSampler(range(n), replicas, 0, drop_last=drop_last))
    assert all(len(p) == length for p in parts)
    flat = [i for p in parts for i in p]
    if drop_last:  # disjoint, the tail trimmed
        assert len(set(flat)) == len(flat) and set(flat) <= set(range(n))
    else:  # covering, padded by repeating from the start
        assert set(flat) == set(range(n)) and len(flat) == -(-n // replicas) * replicas
    torch_data = pytest.importorskip("torch.utils.data")
    want = [list(torch_data.DistributedSampler(range(n), replicas, r, shuffle=False, drop_last=drop_last))
            for r in range(replicas)]
    assert parts == want


def test_distributed_sampler_shuffles_alike_on_every_rank_and_anew_each_epoch():
    def epoch(e, seed=0):
        samplers = [DistributedSampler(range(100), 2, r, seed=seed) for r in range(2)]
        for s in samplers:
            s.set_epoch(e)
        return [list(s) for s in samplers]

    a, b = epoch(0), epoch(1)
    assert sorted(a[0] + a[1]) == list(range(100)) and sorted(b[0] + b[1]) == list(range(100))  # disjoint, covering
    assert a != b and a == epoch(0) and epoch(0, seed=1) != a
    sampler = DistributedSampler(range(100), 2, 1, seed=5)
    sampler.set_epoch(3)
    state = sampler.state_dict()
    again = DistributedSampler(range(100), 2, 1)
    again.load_state_dict(state)
    assert list(again) == list(sampler) and state["epoch"] == 3 and state["seed"] == 5


def test_distributed_sampler_in_a_dataloader_and_its_errors():
    data = TensorDataset(el.arange(10.0))
    loader = DataLoader(data, batch_size=2, sampler=DistributedSampler(data, 2, 1, shuffle=False))
    assert [b[0].tolist() for b in loader] == [[1.0, 3.0], [5.0, 7.0], [9.0]]
    with pytest.raises(ValueError, match=r"Invalid rank 2, rank should be in the interval \[0, 1\]"):
        DistributedSampler(data, 2, 2)
    with pytest.raises(RuntimeError, match="init_process_group"):
        DistributedSampler(data)


# ---- the Trainer ------------------------------------------------------------------------------------------------
def test_trainer_ddp_started_alone_says_how_to_launch(alone):
    pl = pytest.importorskip("eagerlab_lightning")
    with pytest.raises(UnsupportedError, match=r"started alone: launch .*python -m eagerlab.distributed.run -n 4"):
        pl.Trainer(strategy="ddp", devices=2, num_nodes=2)
    with pytest.raises(UnsupportedError, match=r"strategy='fsdp'"):
        pl.Trainer(strategy="fsdp")
    trainer = pl.Trainer(logger=False)
    assert (trainer.world_size, trainer.global_rank, trainer.is_global_zero) == (1, 0, True)


# ---- what DistributedDataParallel is built on --------------------------------------------------------------------
def test_post_accumulate_grad_hook_runs_once_the_whole_gradient_is_in_and_callbacks_at_the_end():
    w = el.ones(3, requires_grad=True)
    seen = []

    def hook(p):
        seen.append(p.grad.tolist())
        queue_callback(lambda: seen.append("end of backward"))

    handle = w.register_post_accumulate_grad_hook(hook)
    ((w * 2).sum() + (w * 3).sum()).backward()  # two edges into w: the hook waits for both
    assert seen == [[5.0, 5.0, 5.0], "end of backward"]
    handle.remove()
    (w * 2).sum().backward()
    assert len(seen) == 2 and w.grad.tolist() == [7.0, 7.0, 7.0]
    with pytest.raises(AutogradError, match="non-leaf"):
        (w * 2).register_post_accumulate_grad_hook(hook)
    with pytest.raises(AutogradError, match="no backward is running"):
        queue_callback(lambda: None)


def test_deferred_call_with_tensors_is_an_effect_whose_outputs_the_tensors_then_stand_for():
    calls = []

    def double_in_place(t, label):
        calls.append(label)
        t._data *= 2

    @el.function
    def f(x):
        y = x + 1
        current().deferred_call("double", double_in_place, (y, "run"), {})
        return y * 3

    assert f(el.ones(2)).tolist() == [12.0, 12.0] and f(el.zeros(2)).tolist() == [6.0, 6.0]
    assert calls == ["run", "run"] and "call double" in str(f.graph)
    x = el.ones(2)
    current().deferred_call("double", double_in_place, (x, "eager"), {})
    assert x.tolist() == [2.0, 2.0]


def test_collectives_other_than_all_reduce_and_broadcast_refuse_to_be_traced(monkeypatch):
    from eagerlab.distributed import collectives

    monkeypatch.setattr(collectives, "_engine", lambda what, group=None: _FakeEngine())

    @el.function
    def f(x):
        dist.all_gather([el.zeros(2)], x)
        return x

    with pytest.raises(UnsupportedError, match="all_gather inside eagerlab.function is not supported yet"):
        f(el.ones(2))


class _FakeEngine:
    name, size, rank = "mpi", 1, 0

    def check_device(self, device, what):
        pass
