"""unflatten (the shape family's reverse of flatten): forward, views and errors; the generic harness checks it
against torch and numpy and runs gradcheck."""
import numpy as np
import pytest

import eagerlab as el
from eagerlab.errors import ShapeError


def test_unflatten_is_a_view_with_the_split_dim(rng):
    x = el.tensor(rng.standard_normal((2, 12, 3)))
    y = x.unflatten(1, (3, -1, 2))
    assert tuple(y.shape) == (2, 3, 2, 2, 3)
    assert np.shares_memory(y.numpy(), x.numpy())
    np.testing.assert_array_equal(el.unflatten(x, -2, [12]).numpy(), x.numpy())


@pytest.mark.parametrize("sizes,fragments", [
    ((4, 2), ["unflatten", "(4, 2)", "size of dim 1 (6)", "(2, 6, 3)"]),
    ((-1, -1), ["unflatten", "only one dimension can be inferred"]),
    ((), ["unflatten", "non-empty"]),
])
def test_unflatten_errors(sizes, fragments):
    with pytest.raises(ShapeError) as info:
        el.ones(2, 6, 3).unflatten(1, sizes)
    for f in fragments:
        assert f in str(info.value)
