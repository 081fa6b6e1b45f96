"""`for` becomes a body function taking the element and ag__.for_stmt, which iterates in Python (any iterable but
a tensor) or calls eagerlab.while_loop over an index (a tensor, or range() of tensors)."""
import ast

from ..analysis import modified
from .base import AG, body_function, carried, names_tuple, state_functions, template


class ForTransformer(ast.NodeTransformer):
    def __init__(self, ctx):
        self.ctx = ctx

    def visit_For(self, node):
        self.generic_visit(node)
        element, body_name = self.ctx.new_name("itr"), self.ctx.new_name("loop_body")
        body = [ast.copy_location(ast.Assign([node.target], ast.Name(element, ast.Load())), node)] + node.body
        changed = modified(body)
        loop_vars = carried(self.ctx, changed, getattr(node, "ag_live_head", None))
        get_state, set_state, state_defs = state_functions(self.ctx, loop_vars, node)
        extra = getattr(node, "ag_extra_test", None)
        extra_defs = []
        if extra is not None:
            extra_name = self.ctx.new_name("extra_test")
            extra_defs = template(f"def {extra_name}():\n    return test", node, test=extra)
        return state_defs + extra_defs + [body_function(self.ctx, body_name, changed, body, node, arg=element)] + \
            template(f"{AG}.for_stmt(iterated, extra, {body_name}, {get_state}, {set_state}, names)", node,
                     iterated=node.iter, extra=extra_name if extra is not None else ast.Constant(None),
                     names=names_tuple(loop_vars))


def transform(tree, ctx):
    return ForTransformer(ctx).visit(tree)
