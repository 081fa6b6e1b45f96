"""Declares, at the top of each function, the locals whose every assignment moved into a generated branch or body
function: `nonlocal` there needs a binding here. A bare annotation (`y: 'local'`) makes `y` a local without giving
it a value, so reading it before assignment still raises UnboundLocalError, as in the original."""
import ast

from ..analysis import bound, scope_nodes


def _declared(nodes, kind):
    return {name for n in scope_nodes(nodes) if isinstance(n, kind) for name in n.names}


class LocalsTransformer(ast.NodeTransformer):
    def visit_FunctionDef(self, node):
        self.generic_visit(node)
        inner = [n for n in scope_nodes(node.body) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        wanted = set().union(*(_declared(f.body, ast.Nonlocal) for f in inner))
        args = node.args
        have = bound(node.body) | _declared(node.body, (ast.Nonlocal, ast.Global)) | \
            {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg] if a}
        decls = [ast.copy_location(ast.AnnAssign(ast.Name(n, ast.Store()), ast.Constant("local"), None, 1), node)
                 for n in sorted(wanted - have)]
        doc = 1 if ast.get_docstring(node, clean=False) is not None else 0
        node.body[doc:doc] = decls
        return node

    visit_AsyncFunctionDef = visit_FunctionDef


def transform(tree, ctx):
    return LocalsTransformer().visit(tree)
