"""Test helpers for eagerlab and for code built on it (front ends, user ops and layers), as torch.testing is for
PyTorch. `import eagerlab` does not import this package, and this package does not import pytest.

Comparing results:
    assert_close(actual, expected, rtol=None, atol=None, equal_nan=False, check_dtype=True, msg="")

Checking an op of the registry (`eagerlab.ops.OPS`) on one of its samples; `op` is an OpInfo or an op's name,
`sample` a Sample or its index:
    op_cases(predicate=None) -> [(name, index)]       every sample of every op, for pytest.mark.parametrize
    samples(op), op_info(op), to_tensors(sample, dtype, requires_grad) -> (args, kwargs), flat_tensors(out)
    check_reference(op, sample, dtype)                 forward == the op's numpy reference
    check_torch(op, sample)                            forward == PyTorch's
    check_gradcheck(op, sample), check_gradgradcheck(op, sample)    float64 gradcheck, double backward
    check_views(op, sample)                            an output sharing an input's memory is a tracked view
    check_exported(op, sample, path)                   eagerlab.export -> load_exported == eager
    check_infer(ops=None) -> names of the primitives run; every primitive's infer() == its eager output
    tensor_call / differentiable_call(op, args, kwargs) -> (fn, leaves): the op as a function of its tensors
    InferSpy, run_samples(spy, ops=None)               run the samples under an interpreter that watches bind
    require_torch(what) -> the torch module, or unittest.SkipTest naming `what`

Checking a layer (numpy arrays as inputs):
    compare_with_torch(layer, torch_layer, *inputs, rtol, atol, grad_inputs)   outputs and gradients == PyTorch's
    load_into_torch(layer, torch_layer), gradcheck_layer(layer, *inputs)

A check with nothing to check (an op without a reference, a sample without differentiable inputs) or that needs
PyTorch where it is not installed raises unittest.SkipTest, which pytest and unittest report as a skip with its
reason. `python -m eagerlab.testing.tensor_methods --write` regenerates docs/tensor_methods.md.
"""
from ._compare import assert_close
from ._export import check_exported
from ._layers import compare_with_torch, gradcheck_layer, load_into_torch
from ._opinfo import (check_gradcheck, check_gradgradcheck, check_reference, check_torch, check_views,
                      differentiable_call, flat_tensors, op_cases, op_info, require_torch, samples, tensor_call,
                      to_tensors)
from ._spy import InferSpy, check_infer, run_samples

__all__ = ["assert_close", "op_cases", "samples", "op_info", "to_tensors", "flat_tensors", "tensor_call",
           "differentiable_call", "check_reference", "check_torch", "check_gradcheck", "check_gradgradcheck",
           "check_views", "check_exported", "check_infer", "InferSpy", "run_samples", "compare_with_torch",
           "load_into_torch", "gradcheck_layer", "require_torch"]
