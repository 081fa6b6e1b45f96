"""The import hook behind the runner: a meta-path finder that answers `import torch...` and
`import torchvision...` with eagerlab's module objects themselves (aliases, never copies or wrappers)."""
import importlib
import importlib.abc
import importlib.machinery
import os
import sys

HINT = "see docs/compat.md"

# Where a PyTorch module name lives in eagerlab, where the rule "torch.X is eagerlab.X" does not hold. Each
# value keeps the last component of its key, so the import system's `setattr(parent, last, module)` after an
# import never gives an eagerlab module a second name for a different module.
_RENAMED = {
    "torch": "eagerlab",
    # eagerlab.utils.data is an alias of eagerlab.data: its submodules must be found under their real package, or
    # `import torch.utils.data.sampler` loads a second copy of eagerlab/data/sampler.py with broken relative imports
    "torch.utils.data": "eagerlab.data",
    "torchvision": "eagerlab.compat.torchvision",
    "torchvision.datasets": "eagerlab.datasets",
    "torchvision.transforms": "eagerlab.datasets.transforms",
    "torchvision.utils": "eagerlab.datasets.images",
}
_ROOTS = ("torch", "torchvision")


def served_module(fullname):
    """The eagerlab module name that serves `fullname` (a torch or torchvision module name), or None."""
    root = fullname.partition(".")[0]
    if root not in _ROOTS:
        return None
    if fullname in _RENAMED:
        return _RENAMED[fullname]
    if fullname.startswith("torch.utils.data."):
        return "eagerlab.data" + fullname[len("torch.utils.data"):]
    if root == "torch":
        return "eagerlab" + fullname[len("torch"):]
    return None  # torchvision: only the modules named above (models, io, ... are out of scope)


class _AliasLoader(importlib.abc.Loader):
    """Loads a torch name as the already-imported eagerlab module."""

    def __init__(self, module):
        self._module = module
        self._spec = module.__spec__

    def create_module(self, spec):
        return self._module

    def exec_module(self, module):
        # the import system has just set module.__spec__ to the alias's spec: give eagerlab its own back, so
        # importlib.reload, multiprocessing's spawn and pickling still see the module's real name
        module.__spec__ = self._spec


class TorchAliasFinder(importlib.abc.MetaPathFinder):
    """Finds `torch`, `torch.*` and the served `torchvision` modules as eagerlab modules."""

    def find_spec(self, fullname, path=None, target=None):
        target_name = served_module(fullname)
        if target_name is None:
            if fullname.partition(".")[0] in _ROOTS:
                raise ModuleNotFoundError(f"No module named {fullname!r}: eagerlab has no {fullname}; {HINT}",
                                          name=fullname)
            return None
        try:
            module = importlib.import_module(target_name)
        except ModuleNotFoundError as e:
            if e.name and (target_name == e.name or target_name.startswith(e.name + ".")):
                raise ModuleNotFoundError(f"No module named {fullname!r}: eagerlab has no {fullname}; {HINT}",
                                          name=fullname) from None
            raise
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(module), is_package=hasattr(module, "__path__"))


_finder = TorchAliasFinder()
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the folder holding eagerlab


_INSTALL = "import sys; sys.path.insert(0, {root!r}); import eagerlab.compat as _compat; _compat.install(); "
_FORKSERVER_MAIN = "from multiprocessing.forkserver import main"


def _with_the_hook(args):
    """A `python ... -c CODE` argument list whose CODE first installs the hook."""
    if "-c" in args:
        i = args.index("-c") + 1
        args[i] = _INSTALL.format(root=_ROOT) + args[i]
    return args


def _spawn_command_with_the_hook(original):
    """multiprocessing's spawn command line, starting the child with the hook installed: a spawned child re-runs the
    script's imports (`import torch`) before the parent's code reaches it. Forked children inherit the hook."""

    def get_command_line(**kwds):
        return _with_the_hook(original(**kwds))

    get_command_line.original = original
    return get_command_line


def _forkserver_start_with_the_hook(original):
    """multiprocessing's process start, starting the fork server with the hook installed: the server imports the
    script (its default preload is __main__) before forking the children, which inherit what it imported. The fork
    server builds its `-c` command inline, so the wrap is on util.spawnv_passfds, and only for that command."""

    def spawnv_passfds(path, args, passfds):
        if any(isinstance(a, str) and a.startswith(_FORKSERVER_MAIN) for a in args):
            args = _with_the_hook(list(args))
        return original(path, args, passfds)

    spawnv_passfds.original = original
    return spawnv_passfds


def install():
    """Serve torch/torchvision imports from eagerlab in this interpreter (first on sys.meta_path, so an installed
    PyTorch is not reached), and in the processes it starts with 'spawn' or 'forkserver'. Modules named torch*
    already imported stay as they are."""
    import multiprocessing.spawn as spawn
    import multiprocessing.util as util

    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)
    if not hasattr(spawn.get_command_line, "original"):
        spawn.get_command_line = _spawn_command_with_the_hook(spawn.get_command_line)
    if not hasattr(util.spawnv_passfds, "original"):
        util.spawnv_passfds = _forkserver_start_with_the_hook(util.spawnv_passfds)


def uninstall():
    """Undo install(), and forget the torch/torchvision names it served."""
    import multiprocessing.spawn as spawn
    import multiprocessing.util as util

    if hasattr(spawn.get_command_line, "original"):
        spawn.get_command_line = spawn.get_command_line.original
    if hasattr(util.spawnv_passfds, "original"):
        util.spawnv_passfds = util.spawnv_passfds.original
    if _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
    for name in [n for n in sys.modules if n.partition(".")[0] in _ROOTS]:
        if getattr(sys.modules[name], "__name__", "").startswith("eagerlab"):
            del sys.modules[name]
