"""erf on raw arrays. numpy has no erf: float64 gets an erf accurate to a few ulp (Chebyshev interpolants of
Python's correctly computed math.erf/math.erfc, built at first use); float32 (and the 16-bit floats, through
float32) one accurate to a few float32 ulp that costs about a third as much: tanh(x P(x^2)), see erf_float32."""
import math

import numpy as np

_SPLIT, _FAR = 1.0, 6.0  # erf(x) = x * P(x^2) below _SPLIT; 1 - exp(-x^2) g(x) up to _FAR; 1 beyond (erfc < 2e-17)
_TABLES = []


def _chebyshev_interpolant(f, lo, hi, degree):
    """Coefficients of the degree-`degree` Chebyshev interpolant of f on [lo, hi] (f sampled at Chebyshev nodes)."""
    from numpy.polynomial import chebyshev

    return chebyshev.chebinterpolate(lambda t: np.array([f(lo + (v + 1) * (hi - lo) / 2) for v in t]), degree)


def _tables():
    """[(lo, hi, coefficients)]: erf(x)/x as a function of x^2 on [0, 1]; erfc(x) * exp(x^2) on [1, 3] and [3, 6]
    (smooth, so 13 to 26 coefficients reach float64 precision)."""
    if not _TABLES:
        small = _chebyshev_interpolant(lambda u: math.erf(math.sqrt(u)) / math.sqrt(u) if u > 0
                                       else 2 / math.sqrt(math.pi), 0.0, _SPLIT ** 2, 12)
        _TABLES.append((0.0, _SPLIT ** 2, small))
        for lo, hi, degree in ((_SPLIT, 3.0, 25), (3.0, _FAR, 20)):
            _TABLES.append((lo, hi, _chebyshev_interpolant(lambda v: math.erfc(v) * math.exp(v * v), lo, hi, degree)))
    return _TABLES


def _clenshaw(t, coefficients):
    """sum_k c_k T_k(t) for t in [-1, 1] (Clenshaw's recurrence, on whatever array module t lives in)."""
    b1 = b2 = 0.0
    two_t = 2 * t
    for c in coefficients[:0:-1]:
        b1, b2 = two_t * b1 - b2 + float(c), b1
    return t * b1 - b2 + float(coefficients[0])


def erf_float64(xp, x):
    x = xp.asarray(x)  # compiled code may hand over a numpy scalar for a 0-d value
    out = x.copy()  # NaN stays NaN
    ax = xp.abs(x)
    (lo0, hi0, small), *tails = _tables()
    m = ax < _SPLIT
    if m.any():
        xm = x[m]
        out[m] = xm * _clenshaw((2 * (xm * xm) - (lo0 + hi0)) / (hi0 - lo0), small)
    for lo, hi, c in tails:
        m = (ax >= lo) & (ax < hi)
        if m.any():
            am = ax[m]
            out[m] = xp.sign(x[m]) * (1 - xp.exp(-am * am) * _clenshaw((2 * am - (lo + hi)) / (hi - lo), c))
    m = ax >= _FAR
    out[m] = xp.sign(x[m])
    return out


# atanh(erf(x)) / x as a degree-7 polynomial in x^2: a weighted minimax fit on [0, 4] (weights: erf's float32 ulp
# per unit of error in it, so the error is spread evenly in ulps of the result), coefficients rounded to float32.
# Beyond 4, x P(x^2) keeps growing (its top coefficient is positive, it is above 10 there), so tanh gives 1 as
# float32's erf does; inf and nan come out as +-1 and nan. Max error 3 ulp against math.erf rounded to float32
# (tests/ops/test_erf_gelu.py checks it on a dense grid).
_ERF32 = (1.128379225730896, 0.10276973992586136, -0.000194451684365049, -0.0006159961922094226,
          8.522218558937311e-05, -4.948222340317443e-06, 4.460721569898851e-08, 4.736865566457027e-09)


# the same polynomial for erf(x / sqrt 2), the scale folded into the coefficients (the normal CDF of exact gelu)
_ERF32_OF_X_OVER_SQRT2 = tuple(float(np.float32(c / math.sqrt(2) / 2.0 ** k)) for k, c in enumerate(_ERF32))


def tanh_of_odd_polynomial(xp, x, coefficients):
    """(tanh(x P(x^2)), a scratch array of x's shape) for a float32 array x, P's coefficients lowest first:
    evaluated in place, two new arrays in all (x^2, and the result), no masks. The scratch array is free for the
    caller's next result (fresh memory costs about as much as a pass over it)."""
    x = xp.asarray(x)  # compiled code may hand over a numpy scalar for a 0-d value
    with np.errstate(over="ignore"):  # x^2 and P overflow to inf for |x| > ~2000: tanh(+-inf) is the right +-1
        u = xp.multiply(x, x, out=xp.empty(x.shape, x.dtype))  # arrays even when 0-d: the steps work in place
        p = xp.multiply(u, coefficients[-1], out=xp.empty(x.shape, x.dtype))
        for c in coefficients[-2:0:-1]:
            p += c
            p *= u
        p += coefficients[0]
        p *= x
    return xp.tanh(p, out=p), u


def erf_float32(xp, x):
    """erf of a float32 array, in float32: ~17 passes over the data against ~40 for the float64 algorithm."""
    return tanh_of_odd_polynomial(xp, x, _ERF32)[0]


def erf_impl(xp, x):
    if x.dtype == np.float64:
        return erf_float64(xp, x)
    if x.dtype == np.float32:
        return erf_float32(xp, x)
    return erf_float32(xp, x.astype(np.float32)).astype(x.dtype)  # 16-bit floats: computed in float32, rounded once
