"""model.summary(): Keras's table of layers, output shapes and parameter counts."""


def _size(n_bytes):
    for unit in ("B", "KB", "MB", "GB"):
        if n_bytes < 1024 or unit == "GB":
            return f"{n_bytes:.2f} {unit}"
        n_bytes /= 1024


def _shape(shape):
    if shape is None:
        return "?"
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def summary(model, line_length=None):
    """The summary text: one row per layer (name (type), output shape, parameter count) and the totals."""
    rows = []
    for layer, shape in model._layer_output_shapes():
        if isinstance(shape, list):
            shown = "[" + ", ".join(_shape(s) for s in shape) + "]"
        else:
            shown = _shape(shape)
        rows.append((f"{layer.name} ({type(layer).__name__})", shown,
                     f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"))
    widths = [max(31, *(len(r[0]) for r in rows)), max(22, *(len(r[1]) for r in rows)), 13] if rows else [31, 22, 13]
    if line_length:
        widths[0] = max(widths[0], line_length - widths[1] - widths[2] - 10)

    def line(left, mid, right, fill="━"):
        return left + mid.join(fill * (w + 2) for w in widths) + right

    def row(cells, bar="│"):
        a, b, c = cells
        return f"{bar} {a:<{widths[0]}} {bar} {b:<{widths[1]}} {bar} {c:>{widths[2]}} {bar}"

    params = [p for p in model.parameters()]
    trainable = sum(p.numel() for p in params if p.requires_grad)
    frozen = sum(p.numel() for p in params if not p.requires_grad)
    buffers = sum(b.numel() for b in model.buffers())
    item = params[0].element_size() if params else 4
    out = [f'Model: "{model.name}"', line("┏", "┳", "┓"), row(("Layer (type)", "Output Shape", "Param #"), "┃"),
           line("┡", "╇", "┩")]
    for i, r in enumerate(rows):
        out.append(row(r))
        if i < len(rows) - 1:
            out.append(line("├", "┼", "┤", "─"))
    out.append(line("└", "┴", "┘", "─"))
    total = trainable + frozen + buffers
    out += [f" Total params: {total:,} ({_size(total * item)})",
            f" Trainable params: {trainable:,} ({_size(trainable * item)})",
            f" Non-trainable params: {frozen + buffers:,} ({_size((frozen + buffers) * item)})"]
    return "\n".join(out)
