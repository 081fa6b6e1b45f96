"""convert / to_code / do_not_convert: parse a function, run the converters, compile the result so it shares
the original's globals and closure cells."""
import ast
import types
import weakref

from ...errors import UnsupportedError
from . import analysis
from .converters import (break_continue, call_trees, conditional_expressions, for_statements, functions,
                         if_statements, logical_expressions, return_statements, while_statements)
from .converters.base import AG, Context
from .parser import LAMBDA_NAME, NOT_CONVERTED_FLAGS, parse_function

# jumps become flags first, so the control-flow converters see jump-free code; calls are wrapped before the
# control-flow converters generate calls of their own; liveness is computed in between
_BEFORE_LIVENESS = (return_statements, break_continue, call_trees, logical_expressions, conditional_expressions)
_AFTER_LIVENESS = (if_statements, while_statements, for_statements, functions)

_code_cache = weakref.WeakKeyDictionary()  # original code object -> (converted code object, converted source)
_function_cache = weakref.WeakKeyDictionary()  # original function -> converted function


def _transform(node):
    ctx = Context(node)
    for converter in _BEFORE_LIVENESS:
        node = converter.transform(node, ctx)
    analysis.annotate_liveness(node)
    for converter in _AFTER_LIVENESS:
        node = converter.transform(node, ctx)
    return node


def _compile(fn):
    """(converted code object, converted source) for `fn`'s code, compiled as the one function inside
    `def factory(ag__, <fn's free variables>)` so that its free variables can be the original's cells."""
    node = _transform(parse_function(fn))
    source = ast.unparse(node)
    # inside the factory the function must not bind its own name: a recursive function's reference to itself
    # would become a closure variable of the factory instead of the global it is
    name, node.name = node.name, "ag__converted"
    params = [ast.arg(name) for name in (AG, *fn.__code__.co_freevars)]
    factory = ast.FunctionDef(name="ag__factory", args=ast.arguments([], params, None, [], [], None, []),
                              body=[node], decorator_list=[], returns=None)
    module = ast.fix_missing_locations(ast.Module([ast.copy_location(factory, node)], []))
    code = compile(module, fn.__code__.co_filename, "exec")
    factory_code = next(c for c in code.co_consts if isinstance(c, types.CodeType))
    code = next(c for c in factory_code.co_consts if isinstance(c, types.CodeType) and c.co_name == node.name)
    names = {"co_name": name}
    if hasattr(code, "co_qualname"):  # Python >= 3.11
        names["co_qualname"] = fn.__code__.co_qualname
    return code.replace(**names), source


def _converted_code(fn):
    if fn.__code__.co_flags & NOT_CONVERTED_FLAGS:
        raise UnsupportedError(f"cannot convert {fn.__qualname__}: generators and coroutines are not converted")
    entry = _code_cache.get(fn.__code__)
    if entry is None:
        entry = _code_cache[fn.__code__] = _compile(fn)
    return entry


def _build(fn):
    from . import operators  # imported here: operators -> call -> api would otherwise be circular

    code, _ = _converted_code(fn)
    cells = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))
    closure = tuple(types.CellType(operators) if name == AG else cells[name] for name in code.co_freevars)
    converted = types.FunctionType(code, fn.__globals__, fn.__name__, fn.__defaults__, closure)
    converted.__kwdefaults__ = fn.__kwdefaults__
    for attr in ("__qualname__", "__doc__", "__module__", "__annotations__"):
        setattr(converted, attr, getattr(fn, attr))
    converted.__dict__.update(fn.__dict__)
    return converted


def convert(fn):
    """The AutoGraph version of `fn` (a function, lambda or method): tensor-dependent if/while/for become
    eagerlab.cond / eagerlab.while_loop; Python-valued control flow behaves exactly as before. Cached per
    function."""
    if isinstance(fn, types.MethodType):
        return types.MethodType(convert(fn.__func__), fn.__self__)
    if not isinstance(fn, types.FunctionType):
        raise TypeError(f"convert: expected a Python function or method, got {type(fn).__name__}")
    if getattr(fn, "__ag_do_not_convert__", False):
        return fn
    converted = _function_cache.get(fn)
    if converted is None:
        converted = _function_cache[fn] = _build(fn)
    return converted


def to_code(fn):
    """The source of `fn` as AutoGraph rewrites it."""
    fn = getattr(fn, "__func__", fn)
    source = _converted_code(fn)[1]
    return source.replace(f"def {LAMBDA_NAME}(", "def <lambda>(", 1) if fn.__name__ == "<lambda>" else source


def do_not_convert(fn):
    """Mark `fn` so AutoGraph calls it as is (neither convert nor converted_call rewrites it)."""
    fn.__ag_do_not_convert__ = True
    return fn
