"""Objects saved by their structure, never by pickle: nn.Modules (and the Parameters inside them), and references
by name ("module:qualname") to classes and top-level functions.

This layer sits below nn, so nn registers how its objects are taken apart and put back together
(register_object_type) and which of its functions any file may name (trust). Loading applies PyTorch's
weights_only policy (the default since PyTorch 2.6) to the names a file holds: with weights_only=True only
eagerlab's own classes and trusted functions, and the objects the user allow-listed (add_safe_globals /
safe_globals), are accepted; anything else needs weights_only=False, which imports the module the file names
and looks the name up, as pickle would. Either way an instance is made with `cls.__new__(cls)` and filled from
data: no `__init__`, no `__setstate__`, no pickle, no eval runs."""
import contextlib
import importlib
import sys
import types

from ..errors import SerializationError, WeightsOnlyError

_OURS = "eagerlab"
_FUNCTIONS = (types.FunctionType, types.BuiltinFunctionType)


class ObjectType:
    """How instances of `base` (and its subclasses) are saved and loaded.

    state(obj) -> {group: {attribute name: value}} for each of `groups`; the values are saved like any other
    (tensors, containers, other registered objects). On load either `new(cls)` makes the empty instance before its
    state is read (so that the state may refer back to it) and `restore(obj, state)` fills it, or, for objects that
    cannot exist before their data (a Parameter), `rebuild(cls, state)` makes it. Both raise ValueError or
    TypeError for a state they refuse. `nested_only`: saved this way only inside another registered object, and as
    its base type elsewhere (a Parameter in a state dict stays a plain tensor, as eagerlab has always saved it)."""

    __slots__ = ("base", "groups", "state", "new", "restore", "rebuild", "nested_only")

    def __init__(self, base, groups, state, new=None, restore=None, rebuild=None, nested_only=False):
        if (new is None) != (restore is None) or (new is None) == (rebuild is None):
            raise TypeError("register_object_type: give new and restore, or rebuild")
        self.base, self.groups, self.state = base, tuple(groups), state
        self.new, self.restore, self.rebuild, self.nested_only = new, restore, rebuild, nested_only


_TYPES = []
_TRUSTED = {}  # "module:qualname" -> eagerlab's own functions that any file may name
_ALLOWED = {}  # "module:qualname" -> the user's allow-list (add_safe_globals)


def register_object_type(base, groups, state, *, new=None, restore=None, rebuild=None, nested_only=False):
    """Save instances of `base` by structure (see ObjectType)."""
    _TYPES.append(ObjectType(base, groups, state, new, restore, rebuild, nested_only))


def object_type(cls):
    """The ObjectType that saves instances of cls, or None."""
    for t in _TYPES:
        if issubclass(cls, t.base):
            return t
    return None


def trust(*functions):
    """Let every file name these functions of eagerlab's (an activation held by a layer, like F.relu)."""
    for f in functions:
        _TRUSTED[global_name(f)] = f


def global_name(obj):
    return f"{obj.__module__}:{obj.__qualname__}"


def name_for_saving(obj, what, where):
    """The "module:qualname" under which `obj` (a class or a top-level function) can be found again at load; a
    SerializationError when it cannot (defined inside a function, a lambda, or shadowed under its name)."""
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str):
        raise SerializationError(f"save: cannot save {what} at {where}: {obj!r} has no module and qualified name "
                                 "to be found by at load")
    if "<" in qualname:  # <locals>, <lambda>
        raise SerializationError(f"save: cannot save {what} at {where}: {module}.{qualname} is defined inside a "
                                 "function or is a lambda, so load could not find it by name; define it at the top "
                                 "level of a module")
    found = _lookup(sys.modules.get(module), qualname)
    if found is not obj:
        raise SerializationError(f"save: cannot save {what} at {where}: {module}.{qualname} does not name it (the "
                                 "name is unbound or refers to another object, e.g. a class defined again), so load "
                                 "would not find it")
    return f"{module}:{qualname}"


def _lookup(owner, qualname):
    for part in qualname.split("."):
        owner = getattr(owner, part, None)
    return owner


# ---- the allow-list (PyTorch's torch.serialization.add_safe_globals and friends) ------------------------------
def add_safe_globals(safe_globals):
    """Allow eagerlab.load with weights_only=True to rebuild these classes (nn.Module subclasses) and name these
    functions, as torch.serialization.add_safe_globals does."""
    for obj in safe_globals:
        if isinstance(obj, tuple):
            raise TypeError("add_safe_globals: (object, name) pairs are not supported yet: pass the class or "
                            "function itself")
        if not isinstance(obj, type) and not isinstance(obj, _FUNCTIONS):
            raise TypeError(f"add_safe_globals: expected classes and functions, got {type(obj).__name__} {obj!r}")
        _ALLOWED[global_name(obj)] = obj


def get_safe_globals():
    """The allow-listed classes and functions, in the order they were added."""
    return list(_ALLOWED.values())


def clear_safe_globals():
    """Empty the allow-list."""
    _ALLOWED.clear()


@contextlib.contextmanager
def safe_globals(safe_globals):
    """Allow these classes and functions inside the `with` block only (torch.serialization.safe_globals)."""
    saved = dict(_ALLOWED)
    add_safe_globals(safe_globals)
    try:
        yield
    finally:
        _ALLOWED.clear()
        _ALLOWED.update(saved)


# ---- resolving names at load ----------------------------------------------------------------------------------
class Resolver:
    """Turns the names in a file into classes and functions under the weights_only policy. `error(msg)` makes the
    SerializationError naming the file; `where(path)` writes a path for a message."""

    def __init__(self, weights_only, error, file, where):
        self.weights_only, self.error, self.file, self.where = weights_only, error, file, where
        self._found = {}  # (name, what) -> object: a model names the same few classes many times

    def resolve(self, name, what, path):
        """The class (what='class') or the class or function (what='global') that `name` names."""
        key = (name, what) if type(name) is str else None
        found = self._found.get(key)
        if found is None:
            found = self._found[key] = self._resolve(name, what, self.where(path))
        return found

    def _resolve(self, name, what, where):
        module, qualname = self._split(name, where)
        obj = _ALLOWED.get(name)
        if obj is None:
            ours = module == _OURS or module.startswith(_OURS + ".")
            if self.weights_only and not ours:
                raise self._refused(module, qualname, what, where, "it is not eagerlab's own")
            obj = _lookup(self._import(module, where), qualname)
            if obj is None:
                raise self.error(f"{where}: {module}.{qualname} does not exist (was the class renamed or moved "
                                 "since the file was saved?)")
            if self.weights_only and not (isinstance(obj, type) and object_type(obj) or _TRUSTED.get(name) is obj):
                raise self._refused(module, qualname, what, where, "eagerlab does not trust it in files")
        if what == "class":
            if not isinstance(obj, type) or object_type(obj) is None:
                raise self.error(f"{where}: {module}.{qualname} is not an nn.Module (or nn.Parameter) subclass: "
                                 "refused (only those are rebuilt from a file)")
        elif not isinstance(obj, type) and not isinstance(obj, _FUNCTIONS):
            raise self.error(f"{where}: {module}.{qualname} is a {type(obj).__name__}, not a class or function: "
                             "refused")
        return obj

    def _split(self, name, where):
        module, sep, qualname = name.partition(":") if type(name) is str else ("", "", "")
        if (not sep or not all(p.isidentifier() for p in module.split("."))
                or not all(p.isidentifier() for p in qualname.split("."))):
            raise self.error(f"{where}: bad class or function name {name!r} (expected 'module:qualname')")
        return module, qualname

    def _import(self, module, where):
        try:
            return importlib.import_module(module)
        except Exception as e:  # the user asked for it (weights_only=False): any failure of the import is theirs
            raise self.error(f"{where}: cannot import module {module!r} named by the file: "
                             f"{type(e).__name__}: {e}") from e

    def _refused(self, module, qualname, what, where, why):
        short = qualname.rpartition(".")[2]
        return WeightsOnlyError(
            f"load: {self.file}: weights_only=True (the default, as in PyTorch >= 2.6) refuses the {what} "
            f"{module}.{qualname} at {where}: {why}, and loading it would import the module that the file names. "
            f"If you trust this file, pass weights_only=False, or allow it with "
            f"eagerlab.serialization.add_safe_globals([{short}]) (torch.serialization.add_safe_globals under the "
            f"compat runner) or inside `with eagerlab.serialization.safe_globals([{short}]):`")
