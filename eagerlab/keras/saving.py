"""The registry of classes a saved config may name. A config resolves only to a registered class, never to an
import path, so loading a file runs no code the process did not already import."""

_REGISTRY = {}


def register_keras_serializable(package="Custom", name=None):
    """Class decorator: register under "package>name" (name defaults to the class name)."""

    def register(cls):
        key = f"{package}>{name or cls.__name__}"
        if _REGISTRY.get(key, cls) is not cls:
            raise ValueError(f"register_keras_serializable: {key!r} is already registered to "
                             f"{_REGISTRY[key].__qualname__}; pass another package= or name=")
        _REGISTRY[key] = cls
        cls._registered_name = key
        return cls

    return register


def get_registered_name(cls):
    """The name a config stores for `cls`: "Dense" for a built-in layer, "package>Name" for a custom one."""
    return cls.__dict__.get("_registered_name", cls.__name__)


def get_registered(name):
    """The class registered under `name`; a clear error naming the class and the decorator when none is."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    raise TypeError(f"Could not locate class {name!r}. Make sure custom classes are decorated with "
                    "`@keras.saving.register_keras_serializable()` and that the module defining them is imported "
                    f"before loading. Registered: {', '.join(sorted(_REGISTRY))}")


def register_builtin(cls):
    """Register a built-in layer under its bare Keras class name, as Keras configs name them."""
    _REGISTRY[cls.__name__] = cls
    return cls
