"""The skips of this session, listed with their reasons (run the whole suite with -rs to see them too), and a check
that each is one a machine with every optional extra installed may still have: no GPU, and a few that do not
depend on the machine at all. A skip for a missing package (pytest.importorskip) fails here: CI (.ci/run) installs
every extra (see its EXTRAS line), so such a skip means an extra or a CI line is missing.

The check is strict where CI=true (as .ci/run runs it, with every extra installed); elsewhere, where an extra or
PyTorch may be missing on purpose, it only lists the skips.

This test runs after all others (tests/conftest.py orders it last) and sees the skips of the tests run with it: a
subset run checks that subset's skips; run alone it has nothing to check."""
import os
import re

import pytest

from tests.conftest import SKIP_LOG

# reason pattern -> why it may remain on CI
ALLOWED = {
    r"GPU|CUDA|cupy": "the CI machine has no GPU",
    r"is not differentiable|no differentiable inputs|only empty differentiable inputs|no float tensor argument|"
    r"one value per group":
        "the test does not apply to this op or sample (no gradient to check, no float input, an output of zeros)",
    r"the platform supports the modes":
        "tests/test_denormals.py's check for platforms without FTZ/DAZ, which cannot run on the x86-64 Linux of CI",
    r"torch raises for this mix":
        "PyTorch refuses that input mix under autocast, so there is nothing to compare against",
    r"scenarios NOT RUN: .*shared/scenarios is missing|real MNIST files not present|no MNIST files":
        "data from the workplace's shared folder beside the checkout, which a bare CI clone does not have",
}


def classify(reason):
    """The ALLOWED pattern a skip reason matches, or None."""
    return next((pattern for pattern in ALLOWED if re.search(pattern, reason)), None)


def test_only_allowed_skips_remain(request):
    skips = request.config.stash[SKIP_LOG].skips
    by_reason = {}
    for nodeid, reason in skips:
        by_reason.setdefault(reason, []).append(nodeid)
    listing = "\n".join(f"  {len(ids):5d} x {reason}  (e.g. {ids[0]})" for reason, ids in
                        sorted(by_reason.items(), key=lambda kv: -len(kv[1])))
    print(f"\n{len(skips)} skips in this session:\n{listing}")
    unexpected = {reason: ids for reason, ids in by_reason.items() if classify(reason) is None}
    if unexpected and os.environ.get("CI") == "true":
        pytest.fail("skips that a CI machine with every optional extra should not have (install the extra, or add a "
                    "reason that does not depend on the machine to ALLOWED in tests/test_skips.py):\n" +
                    "\n".join(f"  {reason}: {len(ids)} tests, e.g. {ids[0]}" for reason, ids in unexpected.items()),
                    pytrace=False)


def test_the_classifier():
    assert classify("needs a CUDA GPU and cupy") and classify("this machine has a GPU")
    assert classify("could not import 'onnxruntime': No module named 'onnxruntime'") is None
    assert classify("not glibc") is None
