"""The architecture, checked: each layer imports only from the layers below it (every import counts, also one
inside a function), so no import circle crosses layers; and only the interpreter module and graph/ ask which
interpreter is running."""
import ast
import os
import re

import pytest

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "eagerlab")

# Lowest first. A module belongs to the longest prefix listed. Graph capture sits below nn and optim: it is a
# transformation of op sequences, and reaches modules and optimizers only through the interpreter protocol.
LAYERS = [
    ["eagerlab.errors"],
    ["eagerlab.backend", "eagerlab.utils.printing", "eagerlab.cuda", "eagerlab.accelerator", "eagerlab.backends"],
    ["eagerlab._tensor"],
    ["eagerlab.autograd"],
    ["eagerlab.ops"],
    ["eagerlab.amp"],
    ["eagerlab.serialization"],
    ["eagerlab.graph"],
    ["eagerlab.distributed"],
    ["eagerlab.nn"],
    ["eagerlab.optim"],
    ["eagerlab.multiprocessing"],
    ["eagerlab.data"],
    ["eagerlab.datasets"],
    ["eagerlab.training", "eagerlab.utils.tensorboard"],
    ["eagerlab.keras"],
    ["eagerlab.testing"],
    ["eagerlab.compat"],
]
# The public namespaces, which re-export every layer: nothing inside the package may import them.
FACADES = {"eagerlab", "eagerlab.autograph", "eagerlab.utils", "eagerlab.utils.data", "eagerlab.onnx"}


def _modules():
    for dirpath, _, files in os.walk(PACKAGE):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, os.path.dirname(PACKAGE))[:-3].replace(os.sep, ".")
                yield (rel[: -len(".__init__")] if rel.endswith(".__init__") else rel), path


def _imports(module, path):
    """Every eagerlab module `module` imports (absolute names), with the line."""
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = ".".join(base[: len(base) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module
            if not node.module:  # `from . import x`: x is a module of the package
                for alias in node.names:
                    yield f"{target}.{alias.name}", node.lineno
            else:
                yield target, node.lineno


def _layer(module):
    best = None
    for i, prefixes in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and (best is None or len(p) > len(best[1])):
                best = (i, p)
    return best


MODULES = dict(_modules())


def test_every_module_has_a_layer():
    unplaced = sorted(m for m in MODULES if m not in FACADES and _layer(m) is None)
    assert not unplaced, f"modules in no layer (add them to LAYERS in {__file__}): {unplaced}"


def test_each_layer_imports_only_from_the_layers_below_it():
    wrong = []
    for module, path in MODULES.items():
        if module in FACADES:
            continue
        mine = _layer(module)
        for target, line in _imports(module, path):
            if target != "eagerlab" and not target.startswith("eagerlab."):
                continue
            if target in FACADES:
                wrong.append(f"{module}:{line} imports the public namespace {target}")
                continue
            theirs = _layer(target)
            if theirs is not None and theirs[0] > mine[0]:
                wrong.append(f"{module}:{line} ({mine[1]}) imports {target} ({theirs[1]}), a layer above it")
    assert not wrong, "imports against the layering:\n" + "\n".join(wrong)


# What asking "which interpreter runs?" looks like: the thread's interpreter slot, the tracer's class and the
# graph's accessor for it, the eager singleton.
_IDENTITY = re.compile(r"thread_state\.interpreter|\bTracer\b|active_tracer|\bEAGER\b|isinstance\(current\(\)")
_MAY_ASK = ("eagerlab/autograd/interpreter.py", "eagerlab/autograd/thread_state.py", "eagerlab/graph/")


def test_only_the_interpreter_module_and_graph_ask_which_interpreter_runs():
    found = []
    for module, path in MODULES.items():
        rel = os.path.relpath(path, os.path.dirname(PACKAGE)).replace(os.sep, "/")
        if rel.startswith(_MAY_ASK):
            continue
        for i, line in enumerate(open(path, encoding="utf-8"), 1):
            if _IDENTITY.search(line.split("#")[0]):
                found.append(f"{rel}:{i}: {line.strip()}")
    assert not found, "call the interpreter protocol instead of testing which interpreter runs:\n" + "\n".join(found)


@pytest.mark.parametrize("line", ["if thread_state.interpreter is EAGER:", "tracer = active_tracer()",
                                  "if isinstance(current(), Tracer):"])
def test_the_identity_pattern_catches_the_ways_of_asking(line):
    assert _IDENTITY.search(line)
