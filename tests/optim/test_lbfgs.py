"""LBFGS: PyTorch's iterates step by step (float64: to rounding; float32: the first iterations) with and without the
strong-Wolfe line search, history_size and max_iter/max_eval limits, tolerance stops, a state dict that resumes
exactly (also through eagerlab.save/load), and its errors."""
import io

import numpy as np
import pytest

import eagerlab as el
from eagerlab import optim
from eagerlab.errors import DTypeError
from eagerlab.optim._line_search import cubic_minimum

_rng = np.random.default_rng(0)
A, B = _rng.standard_normal((20, 5)), _rng.standard_normal(20)


def _problem(lib, dtype=np.float64, w0=0.5, **kw):
    """A non-quadratic least-squares fit of two parameters (one never gets a gradient), with a closure that
    counts its calls."""
    w = lib.tensor(np.full(5, w0, dtype), requires_grad=True)
    c = lib.tensor(np.array([0.1], dtype), requires_grad=True)
    unused = lib.tensor(np.ones(2, dtype), requires_grad=True)
    a, b = lib.tensor(A.astype(dtype)), lib.tensor(B.astype(dtype))
    opt = (lib.optim.LBFGS if lib is not el else optim.LBFGS)([w, c, unused], **kw)
    calls = []

    def closure():
        opt.zero_grad()
        r = a @ w + c - b
        loss = (r * r).mean() + (w ** 4).sum() * 0.1
        loss.backward()
        calls.append(float(loss.detach()))
        return loss

    return opt, closure, (w, c, unused), calls


CASES = [dict(), dict(history_size=3, max_iter=7), dict(lr=0.5, max_iter=4), dict(max_iter=30, max_eval=12),
         dict(tolerance_change=1e-3), dict(tolerance_grad=1e-2)]


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
@pytest.mark.parametrize("kw", CASES, ids=[str(sorted(k.items())) for k in CASES])
def test_iterates_match_torch_float64(kw, line_search_fn):
    torch = pytest.importorskip("torch")
    ours, theirs = _problem(el, line_search_fn=line_search_fn, **kw), _problem(torch, line_search_fn=line_search_fn,
                                                                                **kw)
    for step in range(3):
        lo, lt = ours[0].step(ours[1]), theirs[0].step(theirs[1])
        assert float(lo.detach()) == pytest.approx(float(lt.detach()), rel=1e-12, abs=1e-14)
        assert len(ours[3]) == len(theirs[3]), f"closure calls after step {step}"
        for p, q in zip(ours[2], theirs[2]):
            np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours[3], theirs[3], rtol=1e-10)
    so, st = ours[0].state[ours[2][0]], theirs[0].state[theirs[2][0]]
    assert (so["n_iter"], so["func_evals"]) == (st["n_iter"], st["func_evals"])
    assert len(so["old_dirs"]) == len(st["old_dirs"]) <= kw.get("history_size", 100)
    np.testing.assert_allclose(so["d"].numpy(), st["d"].numpy(), rtol=1e-8, atol=1e-12)
    assert so["H_diag"] == pytest.approx(float(st["H_diag"]), rel=1e-10)


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_float32_iterates_follow_torch_until_rounding_noise(line_search_fn):
    """float32: the same iterates as PyTorch while the loss is well above its rounding noise (at the optimum the
    ulp-level differences of the loss's sums decide the stopping tests, as they would between two PyTorch builds)."""
    torch = pytest.importorskip("torch")
    kw = dict(line_search_fn=line_search_fn, max_iter=4)
    ours, theirs = _problem(el, np.float32, **kw), _problem(torch, np.float32, **kw)
    ours[0].step(ours[1]), theirs[0].step(theirs[1])
    np.testing.assert_allclose(ours[3], theirs[3], rtol=3e-6)
    np.testing.assert_allclose(ours[2][0].detach().numpy(), theirs[2][0].detach().numpy(), rtol=1e-5)
    assert ours[2][0].dtype == el.float32 and ours[0].state[ours[2][0]]["d"].dtype == el.float32


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_fit_converges_and_state_dict_resumes_exactly(line_search_fn):
    kw = dict(line_search_fn=line_search_fn, max_iter=5, history_size=4)
    opt, closure, params, _ = _problem(el, **kw)
    for _ in range(2):
        opt.step(closure)
    sd = opt.state_dict()
    state = sd["state"][0]
    assert {"d", "t", "old_dirs", "old_stps", "ro", "H_diag", "prev_flat_grad", "prev_loss", "n_iter",
            "func_evals"} <= set(state)
    assert sd["param_groups"][0]["params"] == [0, 1, 2] and len(state["old_dirs"]) == 4
    assert state["prev_flat_grad"].shape == (8,) and state["n_iter"] == 10
    buf = io.BytesIO()
    el.save(sd, buf)
    buf.seek(0)
    loaded = el.load(buf)

    other, other_closure, other_params, _ = _problem(el, **kw)
    with el.no_grad():
        for p, q in zip(other_params, params):
            p.copy_(q)
    other.load_state_dict(loaded)
    for _ in range(3):
        a, b = opt.step(closure), other.step(other_closure)
        assert float(a.detach()) == float(b.detach())
    for p, q in zip(params, other_params):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    final = float(closure().detach())
    assert final < 0.5 and np.abs(params[0].grad.numpy()).max() < 1e-4  # converged (the start is 2.28)


def test_stops_at_a_stationary_point_and_steps_under_no_grad():
    opt, closure, (w, c, _), calls = _problem(el, w0=0.0, line_search_fn="strong_wolfe")
    for _ in range(4):
        opt.step(closure)
    n = len(calls)
    with el.no_grad():  # the closure still runs with grad enabled
        opt.step(closure)
    assert len(calls) == n + 1  # already optimal: one evaluation, no iteration


def test_cubic_minimum_is_the_cubics_minimiser_within_bounds():
    f = lambda x: (x - 1.0) ** 3 - 3 * (x - 1.0) + 2  # noqa: E731  minimum at x = 2, slope 3(x-1)^2 - 3
    g = lambda x: 3 * (x - 1.0) ** 2 - 3  # noqa: E731
    assert cubic_minimum(1.5, f(1.5), g(1.5), 3.0, f(3.0), g(3.0)) == pytest.approx(2.0)
    assert cubic_minimum(3.0, f(3.0), g(3.0), 1.5, f(1.5), g(1.5)) == pytest.approx(2.0)
    assert cubic_minimum(1.5, f(1.5), g(1.5), 3.0, f(3.0), g(3.0), bounds=(2.5, 4.0)) == 2.5
    assert cubic_minimum(0.0, 0.0, 1.0, 1.0, 0.5, 1.0) == 0.5  # no real minimum: the midpoint


def test_errors():
    w = el.zeros(3, requires_grad=True)
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        optim.LBFGS([w], lr=-1)
    with pytest.raises(ValueError, match="line_search_fn must be None or 'strong_wolfe', got 'armijo'"):
        optim.LBFGS([w], line_search_fn="armijo")
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        optim.LBFGS([{"params": [w]}, {"params": [el.zeros(2, requires_grad=True)]}])
    opt = optim.LBFGS([w])
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        opt.add_param_group({"params": [el.zeros(2, requires_grad=True)]})
    with pytest.raises(TypeError, match="LBFGS.step needs a closure"):
        opt.step()
    with pytest.raises(DTypeError, match="parameter 0 is float32 on cpu, parameter 1 is float64"):
        optim.LBFGS([w, el.zeros(2, dtype=el.float64, requires_grad=True)])
    assert opt.defaults["max_eval"] == 25 and opt.defaults["history_size"] == 100
