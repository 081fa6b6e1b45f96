"""Jumps as flags (TensorFlow's break/continue/return rewriting): a graph has no jumps, so `break`, `continue` and
`return` become `flag = True`, and the statements that a jump would have skipped run under `if not flag:`."""
import ast

from ..analysis import SCOPES
from .base import expr, template

LOOPS = (ast.While, ast.For)


class FlagRewriter:
    """Rewrites the jumps of type `jump` in a block; subclasses say what a jump becomes and where it belongs."""

    jump = ast.Break

    def __init__(self, flag):
        self.flag = flag

    def replace(self, node):
        return template(f"{self.flag} = True", node)

    def enters(self, node):
        """break/continue belong to their innermost loop: nested loops are not entered."""
        return not isinstance(node, LOOPS)

    def adjust(self, node):
        """Hook called on each entered compound statement whose sub-blocks were rewritten."""

    def contains(self, nodes):
        stack = list(nodes)
        while stack:
            node = stack.pop()
            if isinstance(node, self.jump):
                return True
            if not isinstance(node, SCOPES) and not (isinstance(node, ast.stmt) and not self.enters(node)):
                stack.extend(ast.iter_child_nodes(node))
        return False

    def block(self, stmts):
        out = []
        for i, stmt in enumerate(stmts):
            if isinstance(stmt, self.jump):
                return out + self.replace(stmt)  # what follows a jump is unreachable
            if self.enters(stmt) and self.contains(ast.iter_child_nodes(stmt)):
                for owner, field in _blocks(stmt):
                    setattr(owner, field, self.block(getattr(owner, field)))
                self.adjust(stmt)
                rest = stmts[i + 1:]
                guard = template(f"if not {self.flag}:\n    rest", rest[0], rest=self.block(rest)) if rest else []
                return out + [stmt] + guard
            out.append(stmt)
        return out


def _blocks(stmt):
    """(node, field) of every statement list directly inside a compound statement."""
    owners = [stmt, *getattr(stmt, "handlers", ()), *getattr(stmt, "cases", ())]
    return [(o, f) for o in owners for f in ("body", "orelse", "finalbody") if getattr(o, f, None)]


def stop_loop_on(loop, flag):
    """The loop ends once `flag` is set: it joins the while condition (checked first, as Python would not
    evaluate the condition again after a jump), or a for loop's extra test."""
    if isinstance(loop, ast.While):
        loop.test = expr(f"not {flag} and test", loop, test=loop.test)
    else:
        extra = getattr(loop, "ag_extra_test", None)
        loop.ag_extra_test = expr(f"not {flag}", loop) if extra is None else \
            expr(f"extra and not {flag}", loop, extra=extra)
