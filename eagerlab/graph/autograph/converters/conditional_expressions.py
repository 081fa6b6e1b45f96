"""`a if cond else b` becomes ag__.if_exp(cond, lambda: a, lambda: b): eagerlab.cond when cond is a tensor."""
import ast

from .base import AG, expr


class IfExpTransformer(ast.NodeTransformer):
    def visit_IfExp(self, node):
        self.generic_visit(node)
        return expr(f"{AG}.if_exp(test, lambda: body, lambda: orelse)", node, test=node.test, body=node.body,
                    orelse=node.orelse)


def transform(tree, ctx):
    return IfExpTransformer().visit(tree)
