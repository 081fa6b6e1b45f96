"""Generic tests over the whole op registry: every op has samples; forward against numpy and PyTorch; float64
gradcheck and gradgradcheck; infer() agrees with eager; every primitive is exercised. The checks themselves are
eagerlab.testing's, one per op and sample."""
import numpy as np
import pytest

import eagerlab
from eagerlab import testing
from eagerlab.ops import OPS, PRIMITIVES

# The primitive set is kept small and counted (DESIGN.md). Changing it is a decision: update the number here in the
# same commit and say in CHANGELOG.md which primitives (or public ops) came or went, and why.
PRIMITIVE_COUNT = 135
PUBLIC_OP_COUNT = 176


def test_primitive_and_public_op_counts_are_pinned():
    counts = {"primitives": len(PRIMITIVES), "public ops": len(OPS)}
    print(f"\n{counts['primitives']} primitives, {counts['public ops']} public ops")
    assert counts == {"primitives": PRIMITIVE_COUNT, "public ops": PUBLIC_OP_COUNT}, (
        f"the registry now has {counts}, pinned: {PRIMITIVE_COUNT} primitives and {PUBLIC_OP_COUNT} public ops. "
        f"If the change is meant, update PRIMITIVE_COUNT / PUBLIC_OP_COUNT in {__file__} and say why in CHANGELOG.md "
        "(a new primitive must earn its place: could it be a composite of existing ones?)")


def test_every_op_has_samples():
    missing = [n for n in sorted(OPS) if OPS[n].samples is None or not testing.samples(n)]
    assert not missing, f"ops registered without samples: {missing}"


def test_every_primitive_is_exercised_and_infer_agrees():
    """Run every sample (forward and, where differentiable, backward) under a spy interpreter."""
    seen = testing.check_infer()
    # moving between devices needs a second device: exercised by tests/test_devices.py on a GPU machine
    exempt = set() if eagerlab.cuda.is_available() else {"to_device"}
    unexercised = sorted(set(PRIMITIVES) - seen - exempt)
    assert not unexercised, f"primitives no sample exercises (add samples): {unexercised}"


@pytest.mark.parametrize("name,i", testing.op_cases(lambda info, s: info.ref is not None))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_forward_matches_numpy_reference(name, i, dtype):
    testing.check_reference(name, i, dtype)


@pytest.mark.parametrize("name,i", testing.op_cases(lambda info, s: info.torch is not None))
def test_forward_matches_torch(name, i):
    testing.check_torch(name, i)


@pytest.mark.parametrize("name,i", testing.op_cases(lambda info, s: info.grad and s.grad))
def test_gradcheck(name, i):
    testing.check_gradcheck(name, i)


@pytest.mark.parametrize("name,i", testing.op_cases(lambda info, s: info.grad and info.gradgrad and s.grad))
def test_gradgradcheck(name, i):
    testing.check_gradgradcheck(name, i)


@pytest.mark.parametrize("name,i", testing.op_cases())
def test_a_result_sharing_memory_with_an_input_is_a_tracked_view(name, i):
    """Aliasing must be visible to autograd's version counters (and to the graph's memory planner): an output
    that shares memory with an input is linked to it as a view."""
    testing.check_views(name, i)
