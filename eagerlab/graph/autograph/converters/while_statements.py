"""`while` becomes a test function, a body function and ag__.while_stmt, which loops in Python (Python condition)
or calls eagerlab.while_loop (tensor condition) over the variables the body changes and that are read again."""
import ast

from ..analysis import modified
from .base import AG, body_function, carried, names_tuple, state_functions, template


class WhileTransformer(ast.NodeTransformer):
    def __init__(self, ctx):
        self.ctx = ctx

    def visit_While(self, node):
        self.generic_visit(node)
        changed = modified(node.body)
        loop_vars = carried(self.ctx, changed, getattr(node, "ag_live_head", None))
        get_state, set_state, state_defs = state_functions(self.ctx, loop_vars, node)
        test, body = self.ctx.new_name("loop_test"), self.ctx.new_name("loop_body")
        return state_defs + template(f"def {test}():\n    return test", node, test=node.test) + \
            [body_function(self.ctx, body, changed, node.body, node)] + \
            template(f"{AG}.while_stmt({test}, {body}, {get_state}, {set_state}, names)", node,
                     names=names_tuple(loop_vars))


def transform(tree, ctx):
    return WhileTransformer(ctx).visit(tree)
