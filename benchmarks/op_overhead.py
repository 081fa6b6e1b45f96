"""Per-op time for small tensors: a + b, a * b, a @ b on (32, 128) float32, with and without grad, and the
backward of a 10-op expression. Small shapes make this a measure of dispatch overhead, not of math."""
import numpy as np

from _timing import per_call_us, try_torch

import eagerlab as el


def _cases(make):
    rng = np.random.default_rng(0)
    an, bn, wn = (rng.standard_normal(s).astype(np.float32) for s in ((32, 128), (32, 128), (128, 128)))
    a, b, w = make(an, False), make(bn, False), make(wn, False)
    ag, bg, wg = make(an, True), make(bn, True), make(wn, True)
    cases = {}
    cases["a + b (no grad)"] = lambda: a + b
    cases["a * b (no grad)"] = lambda: a * b
    cases["a @ w (no grad)"] = lambda: a @ w
    cases["a + b (grad)"] = lambda: ag + bg
    cases["a * b (grad)"] = lambda: ag * bg
    cases["a @ w (grad)"] = lambda: ag @ wg

    def expression():
        y = ((ag * bg + ag) * 0.5 - bg).exp()  # 5 ops
        y = (y * ag + 1.0) / (bg * bg + 1.0)   # 5 ops
        return y.sum()

    cases["fwd 10-op expression"] = expression

    def backward():
        expression().backward()
        ag.grad = bg.grad = None

    cases["fwd+bwd 10-op expression"] = backward
    return cases


def rows():
    ours = _cases(lambda x, g: el.tensor(x, requires_grad=g))
    torch = try_torch()
    theirs = _cases(lambda x, g: torch.tensor(x, requires_grad=g)) if torch else {}
    out = []
    for name, fn in ours.items():
        if "no grad" in name:
            with el.no_grad():
                t_ours = per_call_us(fn)
        else:
            t_ours = per_call_us(fn)
        t_theirs = None
        if torch:
            if "no grad" in name:
                with torch.no_grad():
                    t_theirs = per_call_us(theirs[name])
            else:
                t_theirs = per_call_us(theirs[name])
        out.append((f"op overhead: {name}", "us/call", t_ours, t_theirs, "lower"))
    return out


if __name__ == "__main__":
    from run import print_table

    print_table(rows())
