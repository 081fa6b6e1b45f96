"""Small shared helpers (printing). `eagerlab.utils.data` is `eagerlab.data`, loaded on first use."""


def __getattr__(name):
    if name == "data":  # lazily, so `import eagerlab` does not pay for the data stack
        import importlib

        return importlib.import_module(".data", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
