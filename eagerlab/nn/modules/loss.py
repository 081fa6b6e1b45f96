"""Loss layers: each holds its options (reduction, weights, ...) and calls the matching F function."""
from ...ops.losses import reduction_arg
from .. import functional as F
from .module import Module


class _Loss(Module):
    """Base of the loss layers: `reduction` ('none' | 'mean' | 'sum'), from the deprecated flags when given."""

    _fn = None
    _options = ()  # extra constructor options forwarded to the functional form

    _reductions = ("none", "mean", "sum")

    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        self.reduction = reduction_arg(type(self).__name__, reduction, size_average, reduce, self._reductions)

    def forward(self, input, target):
        return type(self)._fn(input, target, reduction=self.reduction, **self._extra())

    def _extra(self):
        return {k: getattr(self, k) for k in self._options}


class _WeightedLoss(_Loss):
    """A loss with per-class weights, kept as a buffer so .to(device) moves them."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)

    def _extra(self):
        return dict(super()._extra(), weight=self.weight)


class L1Loss(_Loss):
    _fn = staticmethod(F.l1_loss)


class MSELoss(_Loss):
    _fn = staticmethod(F.mse_loss)


class SmoothL1Loss(_Loss):
    _fn, _options = staticmethod(F.smooth_l1_loss), ("beta",)

    def __init__(self, size_average=None, reduce=None, reduction="mean", beta=1.0):
        super().__init__(size_average, reduce, reduction)
        self.beta = beta


class HuberLoss(_Loss):
    _fn, _options = staticmethod(F.huber_loss), ("delta",)

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction=reduction)
        self.delta = delta


class KLDivLoss(_Loss):
    _fn, _options = staticmethod(F.kl_div), ("log_target",)
    _reductions = ("none", "mean", "sum", "batchmean")

    def __init__(self, size_average=None, reduce=None, reduction="mean", log_target=False):
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target


class NLLLoss(_WeightedLoss):
    _fn, _options = staticmethod(F.nll_loss), ("ignore_index",)

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index


class CrossEntropyLoss(_WeightedLoss):
    """Softmax cross entropy over class scores: class-index or class-probability targets, ignore_index,
    label_smoothing, per-class weight."""

    _fn, _options = staticmethod(F.cross_entropy), ("ignore_index", "label_smoothing")

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                 label_smoothing=0.0):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing


class BCELoss(_WeightedLoss):
    _fn = staticmethod(F.binary_cross_entropy)


class BCEWithLogitsLoss(_WeightedLoss):
    """Sigmoid + binary cross entropy in one stable step; pos_weight scales the positive term per class."""

    _fn = staticmethod(F.binary_cross_entropy_with_logits)

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean", pos_weight=None):
        super().__init__(weight, size_average, reduce, reduction)
        self.register_buffer("pos_weight", pos_weight)

    def _extra(self):
        return dict(super()._extra(), pos_weight=self.pos_weight)


class CosineEmbeddingLoss(_Loss):
    _options = ("margin",)

    def __init__(self, margin=0.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return F.cosine_embedding_loss(input1, input2, target, margin=self.margin, reduction=self.reduction)
