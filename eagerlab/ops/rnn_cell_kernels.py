"""One-step LSTM kernels, beside the sequence kernels of rnn_kernels.py.

A one-step LSTM without projection (what nn.LSTMCell runs) takes kernels of its own (`lstm_step_forward`,
`lstm_step_backward`): with one step there is no sequence to amortize the per-call preparation over (reordering and
halving the weights, the (T, B, ...) workspace views, the all-steps derivative arrays), and that preparation
cost as much as the step's GEMMs. They fold x @ W_ih^T, h @ W_hh^T and the biases into one (batched) GEMM over
[x | h | 1] that writes the gates gate-major, (4, B, H), so that every elementwise op runs on contiguous (B, H)
arrays, and the backward writes the gate gradients in PyTorch's order, so nothing is reordered back. Their
workspace holds the activated gates (i, f, o, g) and tanh(c_1), for one step; forward and backward choose these
kernels by the same test (`one_lstm_step`), so a workspace is always read by the kernels that wrote it.
"""
from ..backend import blas


def one_lstm_step(mode, steps, proj):
    """Whether the one-step LSTM kernels run (and wrote / read the workspace); proj: whether there is a w_hr."""
    return mode == "LSTM" and steps == 1 and not proj


def lstm_step_forward(xp, x, w_ih, w_hh, h0, c0, b_ih, b_hh, ws, hidden):
    """One LSTM step: (y (1, B, H), ws, h_1, c_1), the workspace holding the activated gates gate-major, (4, B, H)
    in the order i, f, o, g, then tanh(c_1) (B, H)."""
    batch, features = x.shape[1:]
    H, dt = hidden, x.dtype
    blas.single_thread()  # the step's small GEMMs, forward and backward, on one OpenBLAS thread (backend/blas.py)
    xh = xp.empty((batch, features + H + (b_ih is not None)), dtype=dt)  # [x | h_0 | 1]
    xh[:, :features] = x[0]
    xh[:, features:features + H] = h0
    parts = (w_ih, w_hh)
    if b_ih is not None:
        xh[:, -1] = 1
        parts += ((b_ih + b_hh)[:, None],)
    # the weights as (4, K, H), one (K, H) matrix per gate (i, f, o, g): the product then writes each gate's
    # (B, H) block contiguously, and every elementwise op below runs on contiguous arrays (on column blocks of a
    # (B, 4H) array they cost ~2x)
    w = xp.concatenate(parts, axis=1).reshape(4, H, -1).transpose(0, 2, 1)
    w_gates = xp.empty(w.shape, dtype=dt)
    w_gates[:2] = w[:2]
    w_gates[2] = w[3]
    w_gates[3] = w[2]
    w_gates[:3] *= 0.5  # sigmoid(x) = 0.5 * tanh(x / 2) + 0.5: one tanh for all four gates (halving is exact)
    gates = ws[:4 * batch * H].reshape(4, batch, H)
    xp.matmul(xh, w_gates, out=gates)
    xp.tanh(gates, out=gates)
    sig = gates[:3]
    sig *= 0.5
    sig += 0.5
    i, f, o, g = gates
    c1 = f * c0
    c1 += i * g
    tanh_c = ws[4 * batch * H:].reshape(batch, H)
    xp.tanh(c1, out=tanh_c)
    y = xp.multiply(o, tanh_c).reshape(1, batch, H)
    return y, ws, y[0].copy(), c1  # h_1 its own array, as in the sequence kernels: y and h_n are separate tensors


def lstm_step_backward(xp, x, w_ih, w_hh, h0, c0, ws, gy, ghn, gcn, hidden, need_dx, need_dh0):
    """The gradients of one LSTM step (backward's return value) from its workspace (lstm_step_forward)."""
    batch = x.shape[1]
    H, dt = hidden, ws.dtype
    gates = ws[:4 * batch * H].reshape(4, batch, H)
    i, f, o, g = gates
    tanh_c = ws[4 * batch * H:].reshape(batch, H)
    if ghn is None:
        dh = xp.zeros((batch, H), dtype=dt) if gy is None else gy[0]
    else:
        dh = ghn if gy is None else gy[0] + ghn
    # dc_1 in all: what flowed into c_1, plus dh * o * tanh'(c_1)
    dc = tanh_c * tanh_c
    xp.subtract(1, dc, out=dc)
    dc *= o
    dc *= dh
    if gcn is not None:
        dc += gcn
    slope = 1 - gates[:3]
    slope *= gates[:3]  # s (1 - s): the sigmoid gates' derivative
    slope_g = g * g
    xp.subtract(1, slope_g, out=slope_g)  # 1 - g^2
    dg = xp.empty((batch, 4 * H), dtype=dt)  # pre-activation gate gradients, PyTorch's gate order i, f, g, o
    xp.multiply(slope[0], dc * g, out=dg[:, :H])  # di = dc * i' g
    xp.multiply(slope[1], dc * c0, out=dg[:, H:2 * H])  # df = dc * f' c_0
    xp.multiply(slope_g, dc * i, out=dg[:, 2 * H:3 * H])  # dg = dc * g' i
    xp.multiply(slope[2], dh * tanh_c, out=dg[:, 3 * H:])  # do = dh * o' tanh(c_1)
    dc *= f  # dc_0
    dx = (dg @ w_ih).reshape(x.shape) if need_dx else None
    dh0 = dg @ w_hh if need_dh0 else None
    dw_ih, dw_hh, db = dg.T @ x[0], dg.T @ h0, dg.sum(axis=0)
    return dx, dw_ih, dw_hh, dh0, dc, db, db.copy(), None
