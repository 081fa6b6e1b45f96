"""The kernels of the fused recurrent layer (ops/rnn.py): one layer in one direction, forward and backward, on raw
arrays with the `xp` they are given.

The cost of a recurrent layer at the sizes people train (batch 20, hidden 128) is Python per array call, so each
kernel keeps the work per time step to one GEMM and a few in-place ufuncs on preallocated buffers:
- forward: the input projection of the whole sequence is one GEMM, written straight into the gate buffer; each step
  adds one (B, P) @ (P, G) GEMM, and the gates' activations run in place. Sigmoid is 0.5 * tanh(x / 2) + 0.5: one
  tanh over all gate blocks (the 1/2 is folded into the weight rows of the sigmoid gates, which is exact, a power
  of two), then `* 0.5 + 0.5` over the sigmoid gates, which are one block (the LSTM kernels order the gates
  o, i, f, g internally; GRU's r, z come first already);
- backward: inside the loop only what the recurrence needs, dh_{t-1} = dG_t @ W_hh; the activation derivatives are
  computed for all steps at once before it, and the weight, bias and input gradients are one GEMM or sum each over
  the stored dG after it.

Shapes: x (T, B, I) time-major; h0 (B, P) where P is the projection size (LSTM with proj_size) or H; c0 (B, H).
Weights as PyTorch stores them: w_ih (G*H, I), w_hh (G*H, P), w_hr (P, H); gate blocks in PyTorch's order
(LSTM i, f, g, o; GRU r, z, n). `ws` is the workspace the forward keeps for the backward, flat; `_carve` cuts it.

A one-step LSTM without projection (what nn.LSTMCell runs) takes kernels of its own (rnn_cell_kernels.py).
"""
from ..backend.blas import matmul as gemm
from .rnn_cell_kernels import lstm_step_backward, lstm_step_forward, one_lstm_step

# H-wide blocks the workspace holds per (step, batch row): LSTM gates o, i, f, g, then c_t, tanh(c_t) and, with a
# projection, h_t before it; GRU r, z, n and W_hn h + b_hn; the simple RNN needs none (its output is its state).
_WS_BLOCKS = {"LSTM": 6, "GRU": 4, "RNN_TANH": 0, "RNN_RELU": 0}
GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def workspace_size(mode, steps, batch, hidden, proj):
    if one_lstm_step(mode, steps, proj):
        return batch * hidden * 5  # the gates and tanh(c_1): a one-step backward reads c_0 from the operand
    return steps * batch * hidden * (_WS_BLOCKS[mode] + (1 if proj else 0))


def _carve(ws, steps, batch, hidden, widths):
    """Contiguous (T, B, w * H) views of the flat workspace, one per width."""
    views, at = [], 0
    for w in widths:
        n = steps * batch * w * hidden
        views.append(ws[at:at + n].reshape(steps, batch, w * hidden))
        at += n
    return views


def _order(steps, reverse):
    return range(steps - 1, -1, -1) if reverse else range(steps)


def _previous(xp, seq, first, reverse):
    """(T, B, K): the state each step started from, in time order (first where the recurrence starts)."""
    prev = xp.empty_like(seq)
    if reverse:
        prev[:-1] = seq[1:]
        prev[-1] = first
    else:
        prev[1:] = seq[:-1]
        prev[0] = first
    return prev


def _column_constants(xp, blocks, hidden, dtype):
    """A (len(blocks) * H,) vector repeating each value H times."""
    return xp.repeat(xp.asarray(blocks, dtype=dtype), hidden)


def _transposed(xp, w):
    """w.T in C order: OpenBLAS multiplies a small (B, K) block by a transposed view ~1.7x slower than by a
    contiguous copy (measured at (20, 128) @ (128, 512)), and the copy is made once per sequence."""
    return xp.ascontiguousarray(w.T)


def _project(xp, x, w, out):
    """out (T, B, N) <- x (T, B, I) @ w.T (w is (N, I)) as one GEMM, through backend/blas.py: cut on eagerlab's
    threads when large, and OpenBLAS held to one thread for the steps' small GEMMs that follow (xp.matmul)."""
    steps, batch = x.shape[:2]
    gemm(xp, x.reshape(steps * batch, x.shape[2]), w.T, out=out.reshape(steps * batch, out.shape[2]))


# ---- forward -------------------------------------------------------------------------------------------------------
def forward(xp, mode, x, w_ih, w_hh, h0, c0, b_ih, b_hh, w_hr, reverse):
    """(y (T, B, P), ws, h_n (B, P), c_n (B, H) or None)."""
    steps, batch = x.shape[:2]
    hidden = w_ih.shape[0] // GATES[mode]
    ws = xp.empty(workspace_size(mode, steps, batch, hidden, w_hr is not None), dtype=x.dtype)
    if one_lstm_step(mode, steps, w_hr is not None):
        return lstm_step_forward(xp, x, w_ih, w_hh, h0, c0, b_ih, b_hh, ws, hidden)
    y = xp.empty((steps, batch, w_hh.shape[1]), dtype=x.dtype)
    c_n = None
    if mode == "LSTM":
        c_n = _lstm_forward(xp, x, w_ih, w_hh, h0, c0, b_ih, b_hh, w_hr, reverse, y, ws, hidden)
    elif mode == "GRU":
        _gru_forward(xp, x, w_ih, w_hh, h0, b_ih, b_hh, reverse, y, ws, hidden)
    else:
        _simple_forward(xp, mode, x, w_ih, w_hh, h0, b_ih, b_hh, reverse, y)
    last = 0 if reverse else steps - 1
    return y, ws, y[last].copy(), c_n


def _lstm_order(xp, hidden):
    """Row indices taking PyTorch's gate order (i, f, g, o) to the kernels' (o, i, f, g): the three sigmoid gates
    form one contiguous block, and the three gates the cell gradient multiplies (i, f, g) another."""
    blocks = xp.arange(4 * hidden).reshape(4, hidden)
    return blocks[xp.asarray([3, 0, 1, 2])].reshape(-1)


def _lstm_weights(xp, w, order, hidden):
    """w's gate rows in the kernels' order, the sigmoid gates' rows halved (exact: a power of two)."""
    w = w[order]
    w[:3 * hidden] *= 0.5
    return w


def _lstm_forward(xp, x, w_ih, w_hh, h0, c0, b_ih, b_hh, w_hr, reverse, y, ws, hidden):
    steps, batch = x.shape[:2]
    H, dt = hidden, x.dtype
    gates, cells, tanh_c, *pre = _carve(ws, steps, batch, H, (4, 1, 1) + ((1,) if w_hr is not None else ()))
    order = _lstm_order(xp, H)
    _project(xp, x, _lstm_weights(xp, w_ih, order, H), gates)
    if b_ih is not None:
        gates += _lstm_weights(xp, b_ih + b_hh, order, H)
    w_hh_t = _transposed(xp, _lstm_weights(xp, w_hh, order, H))
    w_hr_t = None if w_hr is None else _transposed(xp, w_hr)
    hw = xp.empty((batch, 4 * H), dtype=dt)
    ig = xp.empty((batch, H), dtype=dt)
    h, c = h0, c0
    for t in _order(steps, reverse):
        g = gates[t]
        xp.matmul(h, w_hh_t, out=hw)
        g += hw
        xp.tanh(g, out=g)
        sig = g[:, :3 * H]  # o, i, f: sigmoid(x) = 0.5 * tanh(x / 2) + 0.5, the halving done by the weights
        sig *= 0.5
        sig += 0.5
        c_t = cells[t]
        xp.multiply(g[:, 2 * H:3 * H], c, out=c_t)
        xp.multiply(g[:, H:2 * H], g[:, 3 * H:], out=ig)
        c_t += ig
        xp.tanh(c_t, out=tanh_c[t])
        if w_hr_t is None:
            xp.multiply(g[:, :H], tanh_c[t], out=y[t])
        else:
            xp.multiply(g[:, :H], tanh_c[t], out=pre[0][t])
            xp.matmul(pre[0][t], w_hr_t, out=y[t])
        h, c = y[t], c_t
    return c.copy()


def _gru_forward(xp, x, w_ih, w_hh, h0, b_ih, b_hh, reverse, y, ws, hidden):
    """r, z = sigmoid(x W_i{r,z}^T + b_i + h W_h{r,z}^T + b_h); n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn));
    h' = n + z * (h - n), as PyTorch (and cuDNN)."""
    steps, batch = x.shape[:2]
    H, dt = hidden, x.dtype
    act, hn = _carve(ws, steps, batch, H, (3, 1))
    half = _column_constants(xp, (0.5, 0.5, 1.0), H, dt)
    _project(xp, x, w_ih * half[:, None], act)
    if b_ih is not None:
        act += b_ih * half
    w_hh_t = _transposed(xp, w_hh * half[:, None])
    b_h = None if b_hh is None else b_hh * half
    hw = xp.empty((batch, 3 * H), dtype=dt)
    rh = xp.empty((batch, H), dtype=dt)
    h = h0
    for t in _order(steps, reverse):
        a = act[t]
        xp.matmul(h, w_hh_t, out=hw)
        if b_h is not None:
            hw += b_h
        rz, n = a[:, :2 * H], a[:, 2 * H:]
        rz += hw[:, :2 * H]
        xp.tanh(rz, out=rz)
        rz *= 0.5
        rz += 0.5
        hn[t] = hw[:, 2 * H:]
        xp.multiply(rz[:, :H], hn[t], out=rh)
        n += rh
        xp.tanh(n, out=n)
        y_t = y[t]
        xp.subtract(h, n, out=y_t)
        y_t *= rz[:, H:]
        y_t += n
        h = y_t


def _simple_forward(xp, mode, x, w_ih, w_hh, h0, b_ih, b_hh, reverse, y):
    """h' = tanh (or relu) of x W_ih^T + b_ih + h W_hh^T + b_hh."""
    xw = xp.empty_like(y)
    _project(xp, x, w_ih, xw)
    if b_ih is not None:
        xw += b_ih + b_hh
    w_hh_t = _transposed(xp, w_hh)
    h = h0
    for t in _order(y.shape[0], reverse):
        y_t = y[t]
        xp.matmul(h, w_hh_t, out=y_t)
        y_t += xw[t]
        if mode == "RNN_TANH":
            xp.tanh(y_t, out=y_t)
        else:
            xp.maximum(y_t, 0, out=y_t)
        h = y_t


# ---- backward ------------------------------------------------------------------------------------------------------
def backward(xp, mode, x, w_ih, w_hh, h0, c0, w_hr, y, ws, gy, ghn, gcn, reverse, need_dx=True, need_dh0=True):
    """(dx, dw_ih, dw_hh, dh0, dc0, db_ih, db_hh, dw_hr) from the gradients of y, h_n and c_n (each None when
    nothing flowed into it); dx and dh0 are None unless needed, dc0 and dw_hr for the layers that have them.

    The recurrence computes the gate gradients dG of every step; the weight, bias and input gradients are then one
    GEMM or sum each over all the steps' dG, large enough for eagerlab's threads (backend/blas.py). Handing chunks
    of them to a worker thread while the recurrence went on was slower in wall time: the recurrence is a chain of
    short numpy calls, and each took the GIL back from the worker (docs/performance.md)."""
    steps, batch = x.shape[:2]
    hidden = w_ih.shape[0] // GATES[mode]
    if one_lstm_step(mode, steps, w_hr is not None):
        return lstm_step_backward(xp, x, w_ih, w_hh, h0, c0, ws, gy, ghn, gcn, hidden, need_dx, need_dh0)
    d_y = xp.zeros_like(y) if gy is None else gy.astype(y.dtype, copy=True)  # dL/dy_t, completed step by step
    if ghn is not None:
        d_y[0 if reverse else steps - 1] += ghn
    h_prev = _previous(xp, y, h0, reverse)
    gate_width = w_ih.shape[0]
    dg_x = xp.empty((steps, batch, gate_width), dtype=y.dtype)  # for W_ih, b_ih, x: pre-activation gate gradients
    dg_h = dg_x if mode != "GRU" else xp.empty_like(dg_x)  # for W_hh, b_hh, h (GRU's n gate differs)
    dc0 = dw_hr = None
    if mode == "LSTM":
        dc = xp.zeros_like(c0) if gcn is None else gcn.astype(c0.dtype, copy=True)
        dh0, dc0, dw_hr = _lstm_backward(xp, w_hh, w_hr, c0, ws, d_y, dc, reverse, hidden, need_dh0, dg_x)
    elif mode == "GRU":
        dh0 = _gru_backward(xp, w_hh, h_prev, ws, d_y, reverse, hidden, need_dh0, dg_x, dg_h)
    else:
        dh0 = _simple_backward(xp, mode, w_hh, y, d_y, reverse, need_dh0, dg_x)
    gx, gh = dg_x.reshape(steps * batch, gate_width), dg_h.reshape(steps * batch, gate_width)
    if mode == "LSTM":
        order = _lstm_order(xp, hidden)
        w_ih = w_ih[order]  # dG's gate order; the weight gradients' rows are put back in PyTorch's below
    dx = gemm(xp, gx, w_ih).reshape(x.shape) if need_dx else None
    dw_ih = gemm(xp, gx.T, x.reshape(steps * batch, x.shape[2]))
    dw_hh = gemm(xp, gh.T, h_prev.reshape(steps * batch, h_prev.shape[2]))
    db_ih = gx.sum(axis=0)
    db_hh = db_ih.copy() if gh is gx else gh.sum(axis=0)
    if mode == "LSTM":
        back = xp.argsort(order)
        dw_ih, dw_hh, db_ih, db_hh = dw_ih[back], dw_hh[back], db_ih[back], db_hh[back]
    return dx, dw_ih, dw_hh, dh0, dc0, db_ih, db_hh, dw_hr


def _lstm_backward(xp, w_hh, w_hr, c0, ws, d_y, dc, reverse, hidden, need_dh0, dg):
    """dG (T, B, 4H) into dg, in the kernels' gate order; returns (dh0, dc0, dw_hr)."""
    steps, batch = d_y.shape[:2]
    H = hidden
    gates, cells, tanh_c, *pre = _carve(ws, steps, batch, H, (4, 1, 1) + ((1,) if w_hr is not None else ()))
    g4 = gates.reshape(steps, batch, 4, H)
    o, i, f, g = g4[:, :, 0], g4[:, :, 1], g4[:, :, 2], g4[:, :, 3]
    # for all steps at once: dG_o = dh_t * m_o, dG_{i,f,g} = dc_t * m_{i,f,g}, and dc_t gains dh_t * q
    m = 1 - gates
    m *= gates  # s (1 - s): the sigmoid gates' derivative (the g block is redone below)
    m4 = m.reshape(steps, batch, 4, H)
    xp.multiply(g, g, out=m4[:, :, 3])
    xp.subtract(1, m4[:, :, 3], out=m4[:, :, 3])
    m4[:, :, 0] *= tanh_c  # o' tanh(c)
    m4[:, :, 1] *= g  # i' g
    m4[:, :, 2] *= _previous(xp, cells, c0, reverse)  # f' c_{t-1}
    m4[:, :, 3] *= i  # g' i
    q = tanh_c * tanh_c
    xp.subtract(1, q, out=q)
    q *= o  # o tanh'(c)
    w_hh = w_hh[_lstm_order(xp, H)]
    dg = dg.reshape(steps, batch, 4, H)
    dh_part = xp.empty((batch, H), dtype=gates.dtype)
    back = xp.empty((batch, w_hh.shape[1]), dtype=gates.dtype)
    order = list(_order(steps, reverse))
    dh0 = None
    for k in range(steps - 1, -1, -1):
        t = order[k]
        dh = d_y[t] if w_hr is None else d_y[t] @ w_hr
        d = dg[t]
        xp.multiply(dh, m4[t, :, 0], out=d[:, 0])
        xp.multiply(dh, q[t], out=dh_part)
        dc += dh_part
        xp.multiply(dc[:, None, :], m4[t, :, 1:], out=d[:, 1:])
        dc *= f[t]
        if k:
            xp.matmul(d.reshape(batch, 4 * H), w_hh, out=back)
            d_y[order[k - 1]] += back
        elif need_dh0:
            dh0 = d.reshape(batch, 4 * H) @ w_hh
    dw_hr = None
    if w_hr is not None:
        dw_hr = d_y.reshape(steps * batch, -1).T @ pre[0].reshape(steps * batch, H)
    return dh0, dc, dw_hr


def _gru_backward(xp, w_hh, h_prev, ws, d_y, reverse, hidden, need_dh0, dg_x, dg_h):
    """The gate gradients into dg_x (for W_ih, b_ih, x: (dr, dz, dn) pre-activation) and dg_h (for W_hh, b_hh, h:
    (dr, dz, r * dn)); returns dh0."""
    steps, batch = d_y.shape[:2]
    H = hidden
    act, hn = _carve(ws, steps, batch, H, (3, 1))
    a3 = act.reshape(steps, batch, 3, H)
    r, z, n = a3[:, :, 0], a3[:, :, 1], a3[:, :, 2]
    # for all steps at once: dn_pre = dh * k_n, dz_pre = dh * k_z, dr_pre = dn_pre * k_r
    one_minus_z = 1 - z
    k_n = n * n
    xp.subtract(1, k_n, out=k_n)
    k_n *= one_minus_z
    k_z = h_prev - n
    k_z *= z
    k_z *= one_minus_z
    k_r = 1 - r
    k_r *= r
    k_r *= hn
    dg_x, dg_h = dg_x.reshape(steps, batch, 3, H), dg_h.reshape(steps, batch, 3, H)
    direct = xp.empty((batch, H), dtype=act.dtype)
    order = list(_order(steps, reverse))
    dh0 = None
    for k in range(steps - 1, -1, -1):
        t = order[k]
        dh, dx3, dh3 = d_y[t], dg_x[t], dg_h[t]
        xp.multiply(dh, k_n[t], out=dx3[:, 2])
        xp.multiply(dx3[:, 2], k_r[t], out=dh3[:, 0])
        xp.multiply(dh, k_z[t], out=dh3[:, 1])
        xp.multiply(dx3[:, 2], r[t], out=dh3[:, 2])
        dx3[:, :2] = dh3[:, :2]
        if k or need_dh0:
            back = dh3.reshape(batch, 3 * H) @ w_hh
            xp.multiply(dh, z[t], out=direct)
            back += direct
            if k:
                d_y[order[k - 1]] += back
            else:
                dh0 = back
    return dh0


def _simple_backward(xp, mode, w_hh, y, d_y, reverse, need_dh0, dg):
    """The pre-activation gradients into dg; returns dh0."""
    steps, batch = y.shape[:2]
    if mode == "RNN_TANH":
        slope = y * y
        xp.subtract(1, slope, out=slope)
    else:
        slope = (y > 0).astype(y.dtype)
    back = xp.empty((batch, w_hh.shape[1]), dtype=y.dtype)
    order = list(_order(steps, reverse))
    dh0 = None
    for k in range(steps - 1, -1, -1):
        t = order[k]
        xp.multiply(d_y[t], slope[t], out=dg[t])
        if k:
            xp.matmul(dg[t], w_hh, out=back)
            d_y[order[k - 1]] += back
        elif need_dh0:
            dh0 = dg[t] @ w_hh
    return dh0
