"""Compiled functions called from several threads at once give exactly the results of single-threaded calls, though
their runs reuse kept buffers (memory planning)."""
import threading

import numpy as np

import eagerlab as el
import eagerlab.nn as nn

THREADS, CALLS = 4, 250


def _mlp():
    # many rows, few features: numpy releases the GIL inside the elementwise ops (races show without the lock,
    # ~20 wrong results in 1,000 calls), while the GEMMs stay small enough for OpenBLAS to run on one thread
    # (several threads each asking for OpenBLAS's thread pool slow to a crawl on a busy 2-core machine)
    el.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 10))
    # no parameter needs a gradient, so the compiled function is one forward graph whatever the grad mode
    return model.requires_grad_(False)


def _inputs():
    rng = np.random.default_rng(0)
    return [[el.tensor(rng.standard_normal((1024, 8)).astype(np.float32)) for _ in range(CALLS)]
            for _ in range(THREADS)]


def _hammer(fn, inputs):
    """fn(x) for every x of inputs[k] in thread k, all threads released at once: the results as numpy arrays."""
    results, errors = [None] * THREADS, []
    start = threading.Barrier(THREADS)

    def work(k):
        try:
            start.wait()
            results[k] = [fn(x).numpy() for x in inputs[k]]
        except Exception as exc:  # (a thread's exception would otherwise only be printed)
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def _wrong(results, expected):
    return sum(not np.array_equal(r, e) for rs, es in zip(results, expected) for r, e in zip(rs, es))


def test_a_compiled_function_called_from_four_threads_gives_the_single_threaded_results():
    model, inputs = _mlp(), _inputs()
    single = el.function(model)
    expected = [[single(x).numpy() for x in xs] for xs in inputs]
    shared = el.function(model)  # first called, and so traced, by the four threads at once
    results = _hammer(shared, inputs)
    assert _wrong(results, expected) == 0
    assert shared.trace_count == 1
    assert shared.get_concrete_function(inputs[0][0]).memory_report()["buffers"] >= 2


def test_an_exported_function_called_from_four_threads_gives_the_single_threaded_results(tmp_path):
    model, inputs = _mlp(), _inputs()
    el.export(model, (inputs[0][0],), tmp_path / "mlp.elx")
    loaded = el.load_exported(tmp_path / "mlp.elx")
    expected = [[loaded(x).numpy() for x in xs] for xs in inputs]
    assert _wrong(_hammer(loaded, inputs), expected) == 0
    assert el.is_grad_enabled()  # each call's no_grad ended as it began
