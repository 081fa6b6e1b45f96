"""`return` inside control flow becomes `do_return = True; retval_ = value`; the function ends in one return."""
import ast

from .base import AG, template
from .flags import LOOPS, FlagRewriter, stop_loop_on


def _always_returns(stmts):
    last = stmts[-1] if stmts else None
    return isinstance(last, ast.Return) or (isinstance(last, ast.If) and _always_returns(last.body)
                                            and _always_returns(last.orelse))


def _return_in_else(stmts):
    """`if c: return a` followed by more code becomes `if c: return a / else: <more code>` (and the mirror case),
    so a tensor-dependent if returns in both branches instead of in one (TF's ConditionalReturnRewriter)."""
    for i, stmt in enumerate(stmts):
        if isinstance(stmt, ast.If) and stmts[i + 1:]:
            if _always_returns(stmt.body):
                stmt.orelse = stmt.orelse + stmts[i + 1:]
            elif _always_returns(stmt.orelse):
                stmt.body = stmt.body + stmts[i + 1:]
            else:
                continue
            _normalize(stmt)
            return stmts[:i + 1]
        _normalize(stmt)
    return stmts


def _normalize(stmt):
    if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        for field in ("body", "orelse", "finalbody"):
            if getattr(stmt, field, None):
                setattr(stmt, field, _return_in_else(getattr(stmt, field)))


class _ReturnRewriter(FlagRewriter):
    jump = ast.Return

    def __init__(self, flag, retval):
        super().__init__(flag)
        self.retval = retval

    def replace(self, node):
        return template(f"{self.flag} = True\n{self.retval} = value", node,
                        value=node.value or ast.Constant(None))

    def enters(self, node):
        return True

    def adjust(self, node):
        if isinstance(node, LOOPS):
            stop_loop_on(node, self.flag)
            if node.orelse:  # a return skips the loop's else
                node.orelse = template(f"if not {self.flag}:\n    body", node.orelse[0], body=node.orelse)


class ReturnTransformer(ast.NodeTransformer):
    def __init__(self, ctx):
        self.ctx = ctx

    def visit_FunctionDef(self, node):
        self.generic_visit(node)
        node.body = _return_in_else(node.body)
        nested = [s for s in node.body if not isinstance(s, ast.Return)]
        if not _ReturnRewriter(None, None).contains(nested):
            return node
        flag, retval = self.ctx.new_name("do_return"), self.ctx.new_name("retval_")
        doc = node.body[:1] if ast.get_docstring(node, clean=False) is not None else []
        always = _always_returns(node.body)  # no path falls off the end: the return value may be a placeholder
        body = _ReturnRewriter(flag, retval).block(node.body[len(doc):])
        node.body = doc + template(f"{flag} = False\n{retval} = {AG}.UndefinedReturnValue({always})",
                                   node.body[0]) + body + \
            template(f"return {AG}.return_value({retval})", node.body[-1])
        return node

    visit_AsyncFunctionDef = visit_FunctionDef


def transform(tree, ctx):
    return ReturnTransformer(ctx).visit(tree)
