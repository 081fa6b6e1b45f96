"""The `torchvision` the runner serves: only its parent role. Its modules are eagerlab's (`datasets`,
`transforms`, `utils.save_image`/`make_grid`); models and the other image datasets are out of scope
(docs/compat.md)."""
import importlib

__path__ = []  # a package, so `import torchvision.datasets` reaches the runner's finder

_SERVED = {"datasets": "eagerlab.datasets", "transforms": "eagerlab.datasets.transforms",
           "utils": "eagerlab.datasets.images"}


def __getattr__(name):
    if name in _SERVED:
        return importlib.import_module(_SERVED[name])
    raise AttributeError(f"module 'torchvision' has no attribute {name!r}: eagerlab has no torchvision.{name}; "
                         "see docs/compat.md")
