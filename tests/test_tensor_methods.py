"""docs/tensor_methods.md, the generated table of Tensor's attributes and where each is defined, is current; each row
names the function that really sits behind the attribute."""
import importlib
import subprocess
import sys

from eagerlab import Tensor
from eagerlab.testing import tensor_methods


def test_the_checked_in_table_is_current():
    # in a fresh process, as the command that writes it runs: the table must not depend on what a test imported
    run = subprocess.run([sys.executable, "-m", "eagerlab.testing.tensor_methods", "--check"], capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr


def test_a_stale_table_fails_the_check_naming_the_command(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "tensor_methods.md"
    stale.write_text(tensor_methods.render().replace("| `view` |", "| `old_view` |"))
    monkeypatch.setattr(tensor_methods, "DOC", str(stale))
    assert tensor_methods.main(["--check"]) == 1
    assert "python -m eagerlab.testing.tensor_methods --write" in capsys.readouterr().err
    assert tensor_methods.main(["--write"]) == 0 and tensor_methods.main(["--check"]) == 0


def _resolve(where):
    """The object a row's `module.qualname` names (None for functions local to a factory, which cannot be reached)."""
    if "<" in where:
        return None
    parts = where.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            found = vars(obj).get(name) if isinstance(obj, type) else getattr(obj, name, None)
            assert found is not None, f"{where} names nothing: was a function renamed (keep its __qualname__)?"
            obj = found
        return obj
    raise AssertionError(f"no module in {where}")


def test_every_row_names_the_function_behind_the_attribute():
    rows = {name: (kind, where) for name, kind, where, _ in tensor_methods.rows()}
    assert {"view", "reshape", "to", "__add__", "__getitem__", "requires_grad"} <= set(rows)
    assert not {"_data", "_make", "__slots__", "__doc__"} & set(rows)  # private names and class metadata
    assert [rows[n][0] for n in ("view", "shape", "grad", "__add__")] == ["method", "property", "attribute", "dunder"]
    for name, (kind, where) in rows.items():
        attr = vars(Tensor)[name]
        behind = attr.fget if isinstance(attr, property) else attr
        found = _resolve(where)
        if found is not None and kind != "attribute":
            assert found is behind or getattr(found, "fget", None) is behind, f"{name}: {where} is not {behind!r}"
        elif found is None:
            assert where.startswith(behind.__module__ + "."), f"{name}: {where} is not in {behind.__module__}"
