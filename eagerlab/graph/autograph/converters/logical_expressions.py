"""`a and b`, `a or b`, `not a` become ag__.and_/or_/not_: logical ops on tensors, Python's own semantics
(short-circuit, the operand itself as result) on anything else. The right operand is wrapped in a lambda so it is
only evaluated when Python would evaluate it. A chained comparison `a < b < c` is `a < b and b < c` with `b`
evaluated once, so it becomes ag__.compare: logical_and of the comparisons when they are tensors."""
import ast

from .base import AG, expr


class LogicalTransformer(ast.NodeTransformer):
    def visit_BoolOp(self, node):
        self.generic_visit(node)
        op = "and_" if isinstance(node.op, ast.And) else "or_"
        result = node.values[-1]
        for left in reversed(node.values[:-1]):
            result = expr(f"{AG}.{op}(left, lambda: right)", node, left=left, right=result)
        return result

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        return expr(f"{AG}.not_(operand)", node, operand=node.operand) if isinstance(node.op, ast.Not) else node

    def visit_Compare(self, node):
        self.generic_visit(node)
        if len(node.ops) == 1:
            return node
        ops = ast.Tuple([ast.Constant(type(op).__name__) for op in node.ops], ast.Load())
        rest = ast.Tuple([expr("lambda: x", x, x=x) for x in node.comparators], ast.Load())
        return expr(f"{AG}.compare(left, ops, rest)", node, left=node.left, ops=ops, rest=rest)

    def visit_For(self, node):
        self.generic_visit(node)
        if getattr(node, "ag_extra_test", None) is not None:  # set by the break/return converters, not a field
            node.ag_extra_test = self.visit(node.ag_extra_test)
        return node


def transform(tree, ctx):
    return LogicalTransformer().visit(tree)
