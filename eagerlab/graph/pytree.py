"""Flatten nested tuples/lists/dicts (and namedtuples) into leaves plus a hashable structure, and back."""


_FLAT_CALLS = {}  # n -> the treedef of (n plain positional arguments, no keywords)


def flatten_call(args, kwargs):
    """flatten((args, kwargs)), with a fast path for the common call: positional arguments, none a container."""
    if not kwargs and not any(isinstance(a, (tuple, list, dict)) for a in args):
        treedef = _FLAT_CALLS.get(len(args))
        if treedef is None:
            treedef = _FLAT_CALLS[len(args)] = flatten((args, {}))[1]
        return list(args), treedef
    return flatten((args, kwargs))


def flatten(obj):
    """(leaves, treedef): leaves in order; treedef a hashable description of the containers."""
    leaves = []
    return leaves, _flatten(obj, leaves)


def _flatten(obj, leaves):
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return ("namedtuple", type(obj), tuple(_flatten(o, leaves) for o in obj))
    if isinstance(obj, (tuple, list)):  # a subclass (eagerlab.Size) by its type, to be rebuilt as itself
        kind = type(obj).__name__ if type(obj) in (tuple, list) else type(obj)
        return (kind, tuple(_flatten(o, leaves) for o in obj))
    if isinstance(obj, dict):
        keys = tuple(obj)
        return ("dict", keys, tuple(_flatten(obj[k], leaves) for k in keys))
    leaves.append(obj)
    return "*"


def unflatten(treedef, leaves):
    it = iter(leaves)
    return _build(treedef, it)


def _build(treedef, it):
    if treedef == "*":
        return next(it)
    kind = treedef[0]
    if kind == "namedtuple":
        return treedef[1](*(_build(t, it) for t in treedef[2]))
    if kind == "dict":
        return {k: _build(t, it) for k, t in zip(treedef[1], treedef[2])}
    items = [_build(t, it) for t in treedef[1]]
    if kind == "tuple":
        return tuple(items)
    return items if kind == "list" else kind(items)
