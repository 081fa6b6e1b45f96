"""eagerlab.set_flush_denormal: the CPU's flush-to-zero and denormals-are-zero modes for the calling thread.

Float32 values below 1.2e-38 (denormals) are computed in microcode on many x86 CPUs, several times slower than
normal numbers. They appear in training by decay: Adam's moment estimates for a parameter whose gradient stays
zero (a dead ReLU unit) shrink by beta every step into the denormal range, and every ufunc touching them slows
down. With FTZ (results that would be denormal become 0) and DAZ (denormal inputs read as 0) set, that cost goes.

On x86-64 both are bits of MXCSR, the SSE control register, which holds them per thread. They are set through the C
runtime's fegetenv/fesetenv (glibc's x86-64 fenv_t, a public header's struct, ends with MXCSR), called through
ctypes: numpy's ufuncs run on the calling thread, so they see the mode, and work that eagerlab hands to its own
threads (backend/parallel.py) runs there in the mode of the thread that handed it over. Elsewhere
set_flush_denormal returns False and changes nothing, as torch.set_flush_denormal does on CPUs without the modes.
"""
import ctypes
import platform
import sys

_FTZ = 1 << 15  # MXCSR flush to zero
_DAZ = 1 << 6  # MXCSR denormals are zero


class _FenvX86_64(ctypes.Structure):
    """glibc's fenv_t on x86-64 (bits/fenv.h): the x87 environment (28 bytes) then MXCSR."""

    _fields_ = [("x87", ctypes.c_uint8 * 28), ("mxcsr", ctypes.c_uint32)]


def _runtime():
    """(fegetenv, fesetenv) of the C library this process runs on, or None where the layout above is not known."""
    if not sys.platform.startswith("linux") or platform.machine() not in ("x86_64", "AMD64"):
        return None
    try:
        libm = ctypes.CDLL("libm.so.6")
    except OSError:  # not glibc (musl has another libm name and the same fenv_t; not verified, so not claimed)
        return None
    get, set_ = libm.fegetenv, libm.fesetenv
    get.argtypes = set_.argtypes = (ctypes.POINTER(_FenvX86_64),)
    get.restype = set_.restype = ctypes.c_int
    return get, set_


_FUNCS = _runtime()


def _mxcsr():
    env = _FenvX86_64()
    if _FUNCS[0](ctypes.byref(env)) != 0:
        raise OSError("fegetenv failed")
    return env


def set_flush_denormal(mode):
    """Flush denormal float32/float64 results and inputs to zero on the calling thread's CPU work (mode=True), or
    compute them exactly again (False), as torch.set_flush_denormal. Returns True when the mode was set, False
    where this CPU or platform is not supported (nothing changes then)."""
    if _FUNCS is None:
        return False
    env = _mxcsr()
    env.mxcsr = (env.mxcsr | _FTZ | _DAZ) if mode else (env.mxcsr & ~(_FTZ | _DAZ))
    return _FUNCS[1](ctypes.byref(env)) == 0


def flush_denormal_enabled():
    """Whether the calling thread flushes denormals (both FTZ and DAZ set)."""
    return _FUNCS is not None and _mxcsr().mxcsr & (_FTZ | _DAZ) == _FTZ | _DAZ


def follow(mode):
    """Put the calling thread in `mode` (flush_denormal_enabled() of another thread) if it is not already: a worker
    thread before running work handed over by that thread."""
    if _FUNCS is not None and flush_denormal_enabled() != mode:
        set_flush_denormal(mode)
