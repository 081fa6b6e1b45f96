"""Streaming epoch means weigh each batch by its samples; the accuracy functions against numpy."""
import numpy as np
import pytest

import eagerlab
from eagerlab.training.metrics import (Mean, MeanMetricWrapper, binary_accuracy, categorical_accuracy,
                                       sparse_categorical_accuracy, sparse_top_k_categorical_accuracy,
                                       top_k_categorical_accuracy)

RNG = np.random.default_rng(0)
N, C = 81, 5  # batches of 32, 32 and a last one of 17
LOGITS = RNG.standard_normal((N, C)).astype(np.float32)
LABELS = RNG.integers(0, C, N)
WEIGHTS = RNG.uniform(0.1, 3.0, N).astype(np.float32)
BATCHES = [slice(0, 32), slice(32, 64), slice(64, N)]


def _stream(metric, weighted=False):
    for s in BATCHES:
        sw = eagerlab.tensor(WEIGHTS[s]) if weighted else None
        metric.update(eagerlab.tensor(LABELS[s]), eagerlab.tensor(LOGITS[s]), sw)
    return metric.result()


def test_a_smaller_last_batch_does_not_skew_the_mean():
    per_sample = RNG.uniform(0, 4, N).astype(np.float32)
    mean = Mean("loss")
    for s in BATCHES:
        mean.update(eagerlab.tensor(per_sample[s]).mean(), per_sample[s].size)
    exact = per_sample.astype(np.float64).mean()
    batch_means = np.mean([per_sample[s].astype(np.float64).mean() for s in BATCHES])
    assert mean.result() == pytest.approx(exact, rel=1e-7) and abs(batch_means - exact) > 1e-3
    mean.reset()
    assert mean.result() == 0.0 and mean.name == "loss"


def test_mean_of_numbers_and_tensor_weights():
    mean = Mean()
    mean.update(2.0, 3)
    mean.update(eagerlab.tensor(1.0), eagerlab.tensor([0.5, 0.5]))
    assert mean.result() == 7.0 / 4.0
    with pytest.raises(TypeError, match="expected a Tensor or a real number; received str"):
        mean.update("1")
    with pytest.raises(ValueError, match=r"one number .* tensor of shape \(2,\)"):
        mean.update(eagerlab.tensor([1.0, 2.0]), 2)


def test_sparse_categorical_accuracy_is_the_exact_fraction_over_the_epoch():
    hits = LOGITS.argmax(1) == LABELS
    assert _stream(MeanMetricWrapper(sparse_categorical_accuracy)) == hits.sum() / N
    want = (hits * WEIGHTS.astype(np.float64)).sum() / WEIGHTS.astype(np.float64).sum()
    assert _stream(MeanMetricWrapper(sparse_categorical_accuracy), weighted=True) == pytest.approx(want, rel=1e-12)


def test_labels_of_shape_n_by_1_and_one_hot():
    want = (LOGITS.argmax(1) == LABELS).astype(float).tolist()
    got = sparse_categorical_accuracy(eagerlab.tensor(LABELS[:, None]), eagerlab.tensor(LOGITS))
    assert got.shape == (N,) and got.tolist() == want
    one_hot = eagerlab.tensor(np.eye(C, dtype=np.float32)[LABELS])
    assert categorical_accuracy(one_hot, eagerlab.tensor(LOGITS)).tolist() == want


@pytest.mark.parametrize("k", [1, 2, 4])
def test_top_k(k):
    rank = (LOGITS > LOGITS[np.arange(N), LABELS][:, None]).sum(1)
    metric = MeanMetricWrapper(sparse_top_k_categorical_accuracy, k=k)
    assert metric.name == "sparse_top_k_categorical_accuracy" and _stream(metric) == (rank < k).sum() / N
    one_hot = eagerlab.tensor(np.eye(C, dtype=np.float32)[LABELS])
    assert top_k_categorical_accuracy(one_hot, eagerlab.tensor(LOGITS), k=k).numpy().tolist() == (rank < k).tolist()


def test_binary_accuracy_thresholds_at_one_half_and_averages_each_sample():
    y_true = eagerlab.tensor([[1.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
    y_pred = eagerlab.tensor([[0.7, 0.2], [0.5, 0.9], [0.4, 0.51]])
    assert binary_accuracy(y_true, y_pred).tolist() == [1.0, 0.5, 0.5]
    assert binary_accuracy(y_true, y_pred, threshold=0.3).tolist() == [1.0, 0.0, 1.0]
    metric = MeanMetricWrapper(binary_accuracy, name="acc")
    metric.update(y_true, y_pred)
    assert metric.name == "acc" and metric.result() == 2.0 / 3.0
