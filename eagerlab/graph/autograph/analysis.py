"""Static facts the converters need: which names a statement modifies, which it reads, and which are live after it.

Liveness runs after the return/break/continue converters, so the code it sees has no jumps: every statement falls
through to the next, and the structured backward pass below is exact up to the conservative cases noted."""
import ast

SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.ListComp, ast.SetComp, ast.DictComp,
           ast.GeneratorExp)
_LOOPS = (ast.While, ast.For)


def scope_nodes(nodes):
    """Nodes of the current scope: nested functions, classes and comprehensions are yielded but not entered."""
    stack = list(nodes)[::-1]
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, SCOPES):
            stack.extend(reversed(list(ast.iter_child_nodes(node))))


def _stored(node):
    if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
        return [node.id]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [] if getattr(node, "ag_helper", False) else [node.name]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".")[0] for a in node.names]
    if isinstance(node, ast.ExceptHandler) and node.name:
        return [node.name]
    return []


def bound(nodes):
    """Names the statements bind in their own scope (assignments, defs, imports, loop targets)."""
    return {name for node in scope_nodes(nodes) for name in _stored(node)}


def modified(nodes):
    """Names the statements may change: what they bind, plus what the functions defined in them declare
    nonlocal (the branch and body functions the converters generate assign the enclosing variables that way)."""
    names = bound(nodes)
    for node in scope_nodes(nodes):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.update(n for sub in ast.walk(node) if isinstance(sub, ast.Nonlocal) for n in sub.names)
    return names


def reads(node):
    """Every name the node loads, nested functions included (conservative: a closure may read it later)."""
    if node is None:
        return set()
    found = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    found.update(n.target.id for n in ast.walk(node) if isinstance(n, ast.AugAssign)
                 and isinstance(n.target, ast.Name))
    return found


def _block(stmts, live):
    for stmt in reversed(stmts):
        live = _statement(stmt, live)
    return live


def _loop(node, live_out):
    """Live names at the loop head: a fixed point, since the body's reads flow back to the head."""
    head = live_out | _block(node.orelse, live_out) | reads(getattr(node, "ag_extra_test", None))
    head |= reads(node.test) if isinstance(node, ast.While) else set()
    while True:
        body_in = _block(node.body, head)
        if isinstance(node, ast.For):
            body_in = body_in - bound([node.target])
        if body_in <= head:
            break
        head |= body_in
    node.ag_live_head = head
    return head | (reads(node.iter) if isinstance(node, ast.For) else set())


def _statement(node, live_out):
    node.ag_live_out = live_out
    if isinstance(node, ast.If):
        return reads(node.test) | _block(node.body, live_out) | _block(node.orelse, live_out)
    if isinstance(node, _LOOPS):
        return _loop(node, live_out)
    if isinstance(node, (ast.With, ast.AsyncWith)):
        return reads(ast.Tuple([i.context_expr for i in node.items], ast.Load())) | _block(node.body, live_out)
    if isinstance(node, (ast.Try, getattr(ast, "TryStar", ast.Try), ast.Match)):
        # a try may jump to a handler from any statement and a match picks one case: rather than model that, keep
        # everything the statement reads live throughout it
        live = live_out | reads(node)
        for block in _sub_blocks(node):
            _block(block, live)
        return live
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return (live_out - {node.name}) | reads(node)
    return (live_out - bound([node])) | reads(node)


def _sub_blocks(node):
    if isinstance(node, ast.Match):
        return [case.body for case in node.cases]
    return [node.body, node.orelse, node.finalbody, *[h.body for h in node.handlers]]


def annotate_liveness(tree):
    """Set `ag_live_out` on every statement (and `ag_live_head` on loops) of every function in the tree."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            _block(node.body, set())
