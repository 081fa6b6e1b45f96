"""What every converter shares: the context (fresh names), code templates, and source locations."""
import ast

# the name under which converted code reaches the runtime half (operators.py), as in TensorFlow
AG = "ag__"


class Context:
    """Per-function conversion state: the names already used in the function, so generated ones never clash."""

    def __init__(self, tree):
        self._used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        self._used.update(n.arg for n in ast.walk(tree) if isinstance(n, ast.arg))
        self._used.update(n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))
        self.global_names = {name for n in ast.walk(tree) if isinstance(n, ast.Global) for name in n.names}

    def new_name(self, base):
        name, i = base, 0
        while name in self._used:
            i += 1
            name = f"{base}_{i}"
        self._used.add(name)
        return name


class _Substitute(ast.NodeTransformer):
    def __init__(self, subs):
        self.subs = subs

    def visit_Name(self, node):
        value = self.subs.get(node.id, node.id)
        return ast.Name(value, node.ctx) if isinstance(value, str) else value

    def visit_Expr(self, node):
        if isinstance(node.value, ast.Name) and isinstance(self.subs.get(node.value.id), list):
            return self.subs[node.value.id]
        return self.generic_visit(node)

    def visit_arg(self, node):
        node.arg = self.subs.get(node.arg, node.arg)
        return node

    def visit_FunctionDef(self, node):
        node.name = self.subs.get(node.name, node.name)
        self.generic_visit(node)
        node.body = node.body or [ast.Pass()]
        return node

    def visit_Nonlocal(self, node):
        names = [m for n in node.names for m in _as_list(self.subs.get(n, n))]
        if not names:
            return None
        node.names = names
        return node

    visit_Global = visit_Nonlocal


def _as_list(value):
    return value if isinstance(value, list) else [value]


def template(src, loc, **subs):
    """The statements of `src` with placeholders replaced: a name by a str (renamed) or an expression (spliced),
    a statement that is just a placeholder by a list of statements, a nonlocal/global placeholder by a list of
    names. Generated nodes take `loc`'s position, so tracebacks point at the user's statement; spliced user code
    keeps its own."""
    module = ast.parse(src)
    for node in ast.walk(module):
        if "lineno" in node._attributes:
            # start and end at the statement's first line: CPython reports a method call at its end line
            node.lineno = node.end_lineno = loc.lineno
            node.col_offset = node.end_col_offset = loc.col_offset
        # a helper is local to the block it is defined in: no enclosing statement carries or declares its name
        node.ag_helper = isinstance(node, ast.FunctionDef)
    body = [_Substitute(subs).visit(stmt) for stmt in module.body]
    return [s for stmt in body for s in _as_list(stmt)]


def expr(src, loc, **subs):
    """One expression from a template (see `template`)."""
    return template(src, loc, **subs)[0].value


def names_tuple(names):
    return ast.Tuple([ast.Constant(n) for n in names], ast.Load())


def body_function(ctx, name, modified, body, loc, arg=None):
    """`def name(arg): nonlocal <modified>; <body>`: what a branch or loop body becomes. Its writes go to the
    enclosing variables, so when the condition is a Python value, calling it is exactly running the block."""
    fn = template("def name():\n    global declared\n    nonlocal local\n    body", loc, name=name, body=body,
                  local=sorted(set(modified) - ctx.global_names), declared=sorted(set(modified) & ctx.global_names))[0]
    fn.args.args = [ast.copy_location(ast.arg(arg), loc)] if arg else []
    return fn


def state_functions(ctx, names, loc):
    """get_state() -> the values of `names` (Undefined where unbound) and set_state(values): how the runtime
    saves and restores the variables a tensor-dependent statement carries (TensorFlow's pattern)."""
    get_state, set_state, values = ctx.new_name("get_state"), ctx.new_name("set_state"), ctx.new_name("vars_")
    if not names:
        src = f"def {get_state}():\n    return ()\ndef {set_state}({values}):\n    pass"
    else:
        loads = "".join(f"{AG}.ldu(lambda: {n}, {n!r}), " for n in names)
        targets = "".join(f"{n}, " for n in names)
        src = (f"def {get_state}():\n    return ({loads})\n"
               f"def {set_state}({values}):\n    nonlocal {', '.join(names)}\n    ({targets}) = {values}")
    return get_state, set_state, template(src, loc)


def carried(ctx, changed, live):
    """The variables a tensor-dependent statement must carry: those it changes that are read later (all of them
    where liveness is unknown, e.g. inside a match). Globals are written in place, never carried."""
    names = changed if live is None else changed & live
    return sorted(names - ctx.global_names)
