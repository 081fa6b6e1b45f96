"""einsum: numpy/PyTorch equation syntax ('...', implicit output, size-1 broadcasting) as one primitive whose
backward is again einsum (diagonals and labels summed inside one operand handled explicitly)."""
import numpy as np

from ..backend import blas
from ..backend.low_precision import in_float32
from ..errors import ShapeError, UnsupportedError, fmt_shape
from ._registry import Aval, Sample, bind, op, primitive
from .linalg import _same_dtype

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _parse_einsum(equation, shapes):
    """The equation with '...' spelled out and the implicit output made explicit ('ij,jk->ik'), and each
    label's size (the broadcast of its sizes). Errors name the equation and the operand shapes."""
    def fail(why):
        return ShapeError(f"einsum: {why} (equation {equation!r}, operands "
                          f"{', '.join(fmt_shape(s) for s in shapes)})")

    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise fail(f"the equation names {len(terms)} operands but {len(shapes)} were given")
    for t in terms + [rhs]:
        if any(c not in _LETTERS for c in t.replace("...", "")):
            raise fail(f"subscripts must be letters (and '...'), got {t!r}")
    spare = [c for c in _LETTERS if c not in eq]
    n_ell = max((len(s) - len(t) + 3 for t, s in zip(terms, shapes) if "..." in t), default=0)
    ell = "".join(spare[:n_ell])
    full = []
    for t, s in zip(terms, shapes):
        if "..." in t:
            k = len(s) - len(t) + 3
            if k < 0:
                raise fail(f"subscript {t!r} names more dims than the operand's {len(s)}")
            t = t.replace("...", ell[n_ell - k:])
        if len(t) != len(s):
            raise fail(f"subscript {t!r} names {len(t)} dims but the operand has {len(s)}")
        full.append(t)
    if arrow:
        out = rhs.replace("...", ell)
        if len(set(out)) != len(out) or any(c not in lhs + ell for c in out):
            raise fail(f"output subscript {rhs!r} must name each input label at most once")
    else:
        counts = "".join(full)
        out = ell + "".join(sorted(c for c in set(counts) if counts.count(c) == 1 and c not in ell))
    sizes = {}
    for t, s in zip(full, shapes):
        for c, n in zip(t, s):
            prev = sizes.get(c)
            if prev is None or prev == 1:
                sizes[c] = n
            elif n not in (1, prev):
                raise fail(f"label {c!r} has sizes {prev} and {n}")
    return ",".join(full) + "->" + out, sizes


def _einsum_infer(*operands, equation):
    lhs, out = equation.split("->")
    sizes = {}
    for t, a in zip(lhs.split(","), operands):
        for c, n in zip(t, a.shape):
            if sizes.setdefault(c, n) != n:
                raise ShapeError(f"einsum: label {c!r} has sizes {sizes[c]} and {n} in {equation!r}")
    return Aval(tuple(sizes[c] for c in out), operands[0].dtype, operands[0].device)


def _einsum_impl(xp, *operands, equation):
    # numpy's path optimizer reaches BLAS (batched matmul included) but costs ~15 us: worth it only on real work
    big = len(operands) > 2 or len(operands) == 2 and operands[0].size * operands[1].size > 1 << 16
    if big and xp is np:  # its BLAS calls, like every product's, on one OpenBLAS thread (backend/blas.py)
        blas.single_thread()
    out = xp.einsum(equation, *operands, optimize=big)
    base = out.base
    if base is not None and any(base is a or base is a.base for a in operands):
        out = out.copy()  # a transpose or diagonal comes back as a view of the operand; einsum's result is new
    return out


einsum_p = primitive("einsum", _einsum_infer, save_inputs=tuple(range(64)))(in_float32(_einsum_impl))


@einsum_p.defvjp
def _(ctx, g):
    from .creation import eye

    lhs, out = ctx.attrs["equation"].split("->")
    terms = lhs.split(",")
    operands = ctx.saved
    sizes = {c: n for t, s in zip(terms, ctx.shapes) for c, n in zip(t, s)}
    spare = iter(c for c in _LETTERS if c not in ctx.attrs["equation"])
    grads = []
    for i, target in enumerate(terms):
        if not ctx.needs[i]:
            grads.append(None)
            continue
        subs = [out] + [t for j, t in enumerate(terms) if j != i]
        args = [g] + [x for j, x in enumerate(operands) if j != i]
        # a repeated label (a diagonal, 'ii') gets a fresh label tied to it by an identity matrix
        labels = []
        for c in target:
            if c in labels:
                fresh = next(spare)
                subs.append(c + fresh)
                args.append(eye(sizes[c], dtype=g.dtype, device=g.device))
                c = fresh
            labels.append(c)
        # labels summed away inside this operand alone do not reach g: the gradient is constant along them
        seen = "".join(subs)
        kept = "".join(c for c in labels if c in seen)
        gi = bind(einsum_p, *args, equation=",".join(subs) + "->" + kept)
        if len(kept) < len(labels):
            gi = gi.reshape(tuple(sizes[c] if c in seen else 1 for c in labels)).expand(*ctx.shapes[i])
        grads.append(gi)
    return tuple(grads)


def _einsum_samples(rng):
    r = rng.standard_normal
    return [Sample("ij,jk->ik", r((2, 3)), r((3, 4))), Sample("bij,bjk->bik", r((2, 2, 3)), r((2, 3, 2))),
            Sample("ii->i", r((3, 3)), note="diagonal"), Sample("ii", r((3, 3)), note="trace"),
            Sample("ij->", r((2, 3)), note="sum"), Sample("i,j", r((3,)), r((2,)), note="implicit outer"),
            Sample("...ij,...jk", r((2, 1, 2, 3)), r((2, 3, 2)), note="ellipsis broadcast"),
            Sample("ij,ij->ij", r((1, 3)), r((2, 3)), note="size-1 broadcast"),
            Sample("ij,jk,kl->il", r((2, 3)), r((3, 2)), r((2, 2)), note="three operands"),
            Sample("ba", r((3, 2)).T, note="transpose, non-contiguous"), Sample("i,i->", r((0,)), r((0,)), grad=False,
                                                                                     note="empty")]


@op(samples=_einsum_samples, torch="einsum", ref=lambda eq, *ops: np.einsum(eq, *ops))
def einsum(equation, *operands):
    """Einstein summation (numpy/PyTorch equation syntax, '...' and implicit output); operands may be a list."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(equation, str):
        raise UnsupportedError("einsum: not supported yet: the sublist format; pass an equation string")
    if not operands:
        raise ShapeError(f"einsum: expected at least one operand for {equation!r}")
    dt = operands[0].dtype
    if any(x.dtype is not dt for x in operands):
        _same_dtype("einsum", *operands)
    eq, sizes = _parse_einsum(equation, [x.shape for x in operands])
    ops = []
    for t, x in zip(eq.split("->")[0].split(","), operands):
        want = tuple(sizes[c] for c in t)
        if want != tuple(x.shape):  # size-1 dims broadcast, as in PyTorch: expand is a view, its backward sums
            if len(set(t)) != len(t):
                raise ShapeError(f"einsum: cannot broadcast an operand with a repeated label {t!r} "
                                 f"{fmt_shape(x.shape)} to {fmt_shape(want)}")
            x = x.expand(*want)
        ops.append(x)
    return bind(einsum_p, *ops, equation=eq)
