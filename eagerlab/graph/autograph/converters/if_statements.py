"""`if` becomes branch functions and ag__.if_stmt, which runs one of them (Python condition) or calls
eagerlab.cond (tensor condition) with the variables the statement changes and that are used afterwards."""
import ast

from ..analysis import modified
from .base import AG, body_function, carried, names_tuple, state_functions, template


class IfTransformer(ast.NodeTransformer):
    def __init__(self, ctx):
        self.ctx = ctx

    def visit_If(self, node):
        self.generic_visit(node)
        in_body, in_else = modified(node.body), modified(node.orelse)
        state = carried(self.ctx, in_body | in_else, getattr(node, "ag_live_out", None))
        get_state, set_state, state_defs = state_functions(self.ctx, state, node)
        if_body, else_body = self.ctx.new_name("if_body"), self.ctx.new_name("else_body")
        # names only one branch assigns: an error under a tensor condition unless they already have a value
        one_branch = [n for n in state if (n in in_body) != (n in in_else)]
        return state_defs + [body_function(self.ctx, if_body, in_body, node.body, node),
                             body_function(self.ctx, else_body, in_else, node.orelse, node)] + \
            template(f"{AG}.if_stmt(test, {if_body}, {else_body}, {get_state}, {set_state}, names, one_branch)", node,
                     test=node.test, names=names_tuple(state), one_branch=names_tuple(one_branch))


def transform(tree, ctx):
    return IfTransformer(ctx).visit(tree)
