"""`python -m eagerlab.compat.torch script.py [args]`: run an unmodified PyTorch script on eagerlab.

The script runs as `__main__` with `sys.argv = [script.py, args...]` and its folder first on sys.path, as
`python script.py` would; `import torch` (and the torchvision modules eagerlab serves) give eagerlab's modules.
`python -m eagerlab.compat.torch -m package.module [args]` runs a module instead."""
import os
import re
import runpy
import sys
import types

from ._hook import HINT, install

USAGE = "usage: python -m eagerlab.compat.torch script.py [args...]  |  -m module [args...]"

# what Python says about a name missing from one of eagerlab's modules (`from torch.nn import X`)
_CANNOT_IMPORT = re.compile(r"cannot import name '(\w+)' from '(eagerlab[\w.]*)'")


def _torch_name(exc):
    """The torch spelling of the eagerlab name a failed lookup missed (None when it is not eagerlab's)."""
    if isinstance(exc, AttributeError) and exc.obj is not None and exc.name:
        owner = exc.obj
        if isinstance(owner, types.ModuleType):
            module = owner.__name__
            return f"torch{module[len('eagerlab'):]}.{exc.name}" if module.partition(".")[0] == "eagerlab" else None
        cls = owner if isinstance(owner, type) else type(owner)
        if cls.__module__.partition(".")[0] != "eagerlab":
            return None
        return f"{'torch.Tensor' if cls.__module__ == 'eagerlab._tensor' else cls.__name__}.{exc.name}"
    found = _CANNOT_IMPORT.search(str(exc)) if isinstance(exc, ImportError) else None
    return f"torch{found.group(2)[len('eagerlab'):]}.{found.group(1)}" if found else None


def run(argv):
    """Run the script or module named by argv[0] (or `-m name`) with the rest as its arguments."""
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    install()
    as_module = argv[0] == "-m"
    if as_module:
        argv = argv[1:]
        if not argv:
            print(USAGE, file=sys.stderr)
            return 2
    sys.argv = list(argv)
    try:
        if as_module:
            runpy.run_module(argv[0], run_name="__main__", alter_sys=True)
        else:
            sys.path.insert(0, os.path.dirname(os.path.abspath(argv[0])))
            runpy.run_path(argv[0], run_name="__main__")
    except (AttributeError, ImportError) as e:
        name = _torch_name(e)
        if name is not None and HINT not in str(e):
            e.add_note(f"eagerlab has no {name}; {HINT}")
        raise
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
