"""The seed MLP training step (784-128-10, ReLU, cross entropy, Adam) at batch 32 and 1024, measured in one run:
eager eagerlab, the same step compiled with @eagerlab.function, eager PyTorch, and the step written by hand in
plain numpy with preallocated buffers (the ceiling for an executor that calls numpy)."""
import numpy as np

from _timing import per_call_us, try_torch

SIZES = (784, 128, 10)
LR, BETAS, EPS = 1e-3, (0.9, 0.999), 1e-8


def _data(batch):
    rng = np.random.default_rng(0)
    return rng.standard_normal((batch, SIZES[0])).astype(np.float32), rng.integers(0, SIZES[2], batch)


def _step(lib, batch, compiled=False):
    nn, optim = lib.nn, lib.optim
    x, y = (lib.tensor(a) for a in _data(batch))
    lib.manual_seed(0)
    model = nn.Sequential(nn.Linear(SIZES[0], SIZES[1]), nn.ReLU(), nn.Linear(SIZES[1], SIZES[2]))
    opt = optim.Adam(model.parameters(), lr=LR, betas=BETAS, eps=EPS)
    cross_entropy = lib.nn.functional.cross_entropy

    def step(x, y):
        opt.zero_grad()
        loss = cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    if compiled:
        step = lib.function(step)
    return lambda: step(x, y)


def _numpy_step(batch):
    """Forward, backward and Adam over preallocated float32 buffers: no allocation, one ufunc per pass."""
    x, y = _data(batch)
    rng = np.random.default_rng(1)
    (n_in, n_hid, n_out), f32 = SIZES, np.float32
    params = [rng.uniform(-a, a, s).astype(f32) for a, s in (
        (n_in ** -0.5, (n_hid, n_in)), (n_in ** -0.5, n_hid), (n_hid ** -0.5, (n_out, n_hid)),
        (n_hid ** -0.5, n_out))]
    w1, b1, w2, b2 = params
    grads = [np.empty_like(p) for p in params]
    gw1, gb1, gw2, gb2 = grads
    state = [(np.zeros_like(p), np.zeros_like(p), np.empty_like(p)) for p in params]
    h, gh = np.empty((batch, n_hid), f32), np.empty((batch, n_hid), f32)
    z, zmax, total = np.empty((batch, n_out), f32), np.empty((batch, 1), f32), np.empty((batch, 1), f32)
    rows, t = np.arange(batch), [0]
    b1_, b2_ = BETAS

    def step():
        np.matmul(x, w1.T, out=h)
        np.add(h, b1, out=h)
        np.maximum(h, 0, out=h)
        np.matmul(h, w2.T, out=z)
        np.add(z, b2, out=z)
        np.max(z, axis=1, keepdims=True, out=zmax)
        np.subtract(z, zmax, out=z)
        picked = z[rows, y]
        np.exp(z, out=z)
        np.sum(z, axis=1, keepdims=True, out=total)
        loss = (np.log(total[:, 0]) - picked).mean()
        np.multiply(total, batch, out=total)
        np.divide(z, total, out=z)
        z[rows, y] -= f32(1 / batch)
        np.matmul(z.T, h, out=gw2)
        np.sum(z, axis=0, out=gb2)
        np.matmul(z, w2, out=gh)
        np.multiply(gh, h > 0, out=gh)
        np.matmul(gh.T, x, out=gw1)
        np.sum(gh, axis=0, out=gb1)
        t[0] += 1
        c1, c2 = f32(1 - b1_), f32(1 - b2_)
        step_size, bc2 = f32(-LR / (1 - b1_ ** t[0])), f32((1 - b2_ ** t[0]) ** 0.5)
        for p, g, (m, v, tmp) in zip(params, grads, state):
            np.subtract(g, m, out=tmp)
            tmp *= c1
            m += tmp
            v *= f32(b2_)
            np.multiply(g, g, out=tmp)
            tmp *= c2
            v += tmp
            np.sqrt(v, out=tmp)
            tmp /= bc2
            tmp += f32(EPS)
            np.divide(m, tmp, out=tmp)
            tmp *= step_size
            p += tmp
        return loss

    return step


def measure():
    """{batch: {"eager": us, "compiled": us, "torch": us or None, "ceiling": us}}, all from this one run."""
    import eagerlab

    torch = try_torch()
    out = {}
    for batch in (32, 1024):
        out[batch] = {
            "eager": per_call_us(_step(eagerlab, batch)),
            "compiled": per_call_us(_step(eagerlab, batch, compiled=True)),
            "torch": per_call_us(_step(torch, batch)) if torch else None,
            "ceiling": per_call_us(_numpy_step(batch)),
        }
    return out


def rows(times=None):
    out = []
    for batch, t in (times or measure()).items():
        for kind in ("compiled", "eager", "ceiling"):
            out.append((f"MLP Adam step {kind}, batch {batch}", "us/call", t[kind], t["torch"], "lower"))
    return out


if __name__ == "__main__":
    from run import print_table

    times = measure()
    print_table(rows(times))
    for batch, t in times.items():
        vs_torch = f"{t['torch'] / t['compiled']:.2f}x" if t["torch"] else "-"
        print(f"batch {batch}: compiled vs torch {vs_torch}, vs eager eagerlab {t['eager'] / t['compiled']:.2f}x, "
              f"compiled speed / numpy ceiling speed {t['ceiling'] / t['compiled']:.2f}")
