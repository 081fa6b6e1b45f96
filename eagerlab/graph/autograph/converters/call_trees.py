"""Every call `f(*args, **kwargs)` becomes `ag__.converted_call(f, args, kwargs)`, which converts user functions
when they are called (operators/call.py decides which)."""
import ast

from .base import AG, expr

# these read their caller's frame, so they must stay direct calls in the converted function
_FRAME_DEPENDENT = {"super", "locals", "globals", "vars", "dir", "eval", "exec"}


class CallTransformer(ast.NodeTransformer):
    def visit_Call(self, node):
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id in _FRAME_DEPENDENT:
            return node
        args = ast.Tuple(node.args, ast.Load())
        kwargs = ast.Dict([k.arg and ast.Constant(k.arg) for k in node.keywords], [k.value for k in node.keywords]) \
            if node.keywords else ast.Constant(None)
        return expr(f"{AG}.converted_call(f, args, kwargs)", node, f=node.func, args=args, kwargs=kwargs)


def transform(tree, ctx):
    return CallTransformer().visit(tree)
