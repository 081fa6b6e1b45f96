"""Source loading: a function's (or lambda's) FunctionDef, located at the user's file lines and columns."""
import ast
import inspect

from ...errors import UnsupportedError

LAMBDA_NAME = "lambda_"
# generators and coroutines are not converted: their yields and awaits cannot move into branch functions
NOT_CONVERTED_FLAGS = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR


class SourceUnavailable(UnsupportedError):
    """The function's source cannot be read (REPL, exec, C code) or pinned down (two lambdas on one line)."""


def _parse(lines, first_line):
    source = "".join(lines)
    # an indented block (method, nested function) parses inside `if 1:` instead of being dedented, so columns stay
    # those of the file, and a docstring line less indented than the def does not break the parse
    indented = source[:1].isspace()
    try:
        tree = ast.parse("if 1:\n" + source if indented else source)
    except SyntaxError as e:
        raise SourceUnavailable(f"the source at line {first_line} does not parse on its own: {e.msg}") from None
    ast.increment_lineno(tree, first_line - 1 - indented)
    return tree.body[0].body if indented else tree.body


def parse_function(fn):
    """The FunctionDef of `fn` without decorators (they were applied already), at the lines of its file."""
    try:
        lines, first_line = inspect.getsourcelines(fn)
    except (OSError, TypeError) as e:
        raise SourceUnavailable(f"cannot convert {fn.__qualname__}: its source code is not available ({e})") from None
    body = _parse(lines, first_line)
    if fn.__name__ != "<lambda>":
        node = body[0]
        node.decorator_list = []
        return node
    code = fn.__code__
    params = list(code.co_varnames[:code.co_argcount + code.co_kwonlyargcount])
    found = [n for stmt in body for n in ast.walk(stmt) if isinstance(n, ast.Lambda) and n.lineno == code.co_firstlineno
             and [a.arg for a in n.args.posonlyargs + n.args.args + n.args.kwonlyargs] == params]
    if len(found) != 1:
        raise SourceUnavailable(f"cannot convert the lambda at line {code.co_firstlineno}: {len(found)} lambdas "
                                "with its parameters start on that line")
    lam = found[0]
    body = [ast.copy_location(ast.Return(lam.body), lam.body)]
    return ast.copy_location(ast.FunctionDef(name=LAMBDA_NAME, args=lam.args, body=body, decorator_list=[]), lam)
