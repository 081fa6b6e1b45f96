"""The {"class_name", "config"} form Keras writes for initializers and regularizers, and its reading back."""


def serialize(obj):
    return None if obj is None else {"class_name": type(obj).__name__, "config": obj.get_config()}


def lookup(kind, identifier, classes, aliases):
    """An object for None, an instance of one of `classes`, an alias string or a serialized dict."""
    if identifier is None or isinstance(identifier, tuple(classes.values())):
        return identifier
    if isinstance(identifier, str) and identifier in aliases:
        return aliases[identifier]()
    if isinstance(identifier, dict) and identifier.get("class_name") in classes:
        return classes[identifier["class_name"]](**identifier.get("config", {}))
    if callable(identifier) and not isinstance(identifier, type):
        return identifier
    raise ValueError(f"Unknown {kind}: {identifier!r}. Valid names: {', '.join(sorted(aliases))}; or one of "
                     f"{', '.join(sorted(classes))} (instance or {{'class_name': ..., 'config': ...}})")
