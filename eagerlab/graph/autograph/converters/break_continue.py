"""`break` and `continue` become flags (see flags.py); a loop's `else` moves after the loop, guarded by the break
flag, because the runtime's loops have no else."""
import ast

from .base import template
from .flags import FlagRewriter, stop_loop_on


class _Continue(FlagRewriter):
    jump = ast.Continue


class LoopTransformer(ast.NodeTransformer):
    def __init__(self, ctx):
        self.ctx = ctx

    def visit_loop(self, node):
        self.generic_visit(node)  # inner loops first: their jumps are theirs
        if _Continue(None).contains(node.body):
            flag = self.ctx.new_name("continue_")
            node.body = template(f"{flag} = False", node) + _Continue(flag).block(node.body)
        before, orelse, node.orelse = [], node.orelse, []
        if FlagRewriter(None).contains(node.body):
            flag = self.ctx.new_name("break_")
            node.body = FlagRewriter(flag).block(node.body)
            stop_loop_on(node, flag)
            before = template(f"{flag} = False", node)
            orelse = template(f"if not {flag}:\n    body", orelse[0], body=orelse) if orelse else []
        return before + [node] + orelse

    visit_While = visit_For = visit_loop


def transform(tree, ctx):
    return LoopTransformer(ctx).visit(tree)
