"""Trainer(precision=...): Lightning's settings and aliases; mixed precision runs the steps under autocast (a
GradScaler for 16-mixed, whose state checkpoints carry: a resumed fit has the bits of an uninterrupted one, also
compiled); the "-true" settings train the module in that dtype."""
import warnings

import numpy as np
import pytest

import eagerlab as el
import eagerlab.nn.functional as F
import eagerlab_lightning as pl
from eagerlab.training.state import read_training_state
from tests.lightning.test_trainer import Model, _loader, _trainer


class _Recording(Model):
    def training_step(self, batch, batch_idx):
        self.seen = (batch[0].dtype, self(batch[0]).dtype)
        return super().training_step(batch, batch_idx)


@pytest.mark.parametrize("precision,canonical,param_dtype,compute_dtype", [
    ("32-true", "32-true", "float32", "float32"), (32, "32-true", "float32", "float32"),
    ("32", "32-true", "float32", "float32"), ("64-true", "64-true", "float64", "float64"),
    (64, "64-true", "float64", "float64"), ("16-mixed", "16-mixed", "float32", "float16"),
    ("bf16-mixed", "bf16-mixed", "float32", "bfloat16"), ("16-true", "16-true", "float16", "float16"),
    ("bf16-true", "bf16-true", "bfloat16", "bfloat16")])
def test_each_setting_trains_in_its_dtypes(tmp_path, precision, canonical, param_dtype, compute_dtype):
    el.manual_seed(0)
    model = _Recording(lr=0.1)
    trainer = _trainer(tmp_path, max_epochs=1, logger=False, enable_checkpointing=False, precision=precision)
    assert trainer.precision == canonical
    trainer.fit(model, _loader(), _loader(False))
    assert all(p.dtype.name == param_dtype for p in model.parameters())
    batch_dtype = param_dtype if canonical.endswith("true") else "float32"
    assert (model.seen[0].name, model.seen[1].name) == (batch_dtype, compute_dtype)
    assert np.isfinite(float(trainer.callback_metrics["train_loss"]))
    assert (trainer.precision_plugin.scaler is not None) == (canonical == "16-mixed")


@pytest.mark.parametrize("alias,canonical", [(16, "16-mixed"), ("16", "16-mixed"), ("bf16", "bf16-mixed")])
def test_historical_aliases_warn_as_lightning_does(alias, canonical):
    with pytest.warns(UserWarning, match=f"set your precision to '{canonical}'"):
        assert pl.Trainer(precision=alias, logger=False).precision == canonical


@pytest.mark.parametrize("compile", [False, True])
def test_16_mixed_resume_gives_the_bits_and_the_scale_of_an_uninterrupted_fit(tmp_path, compile):
    def trainer(root, epochs, **kw):
        return _trainer(root, max_epochs=epochs, logger=False, precision="16-mixed", compile=compile, **kw)

    pl.seed_everything(1)
    straight = Model(lr=0.2)
    reference = trainer(tmp_path / "a", 4)
    reference.fit(straight, _loader(), _loader(False))

    pl.seed_everything(1)
    ckpt = pl.callbacks.ModelCheckpoint(dirpath=str(tmp_path / "b"), save_last=True)
    first = trainer(tmp_path / "b", 2, callbacks=[ckpt])
    first.fit(Model(lr=0.2), _loader(), _loader(False))
    saved = read_training_state(ckpt.last_model_path)["extra"]["precision"]
    assert saved["precision"] == "16-mixed" and saved["scaler"]["scale"] == first.precision_plugin.scaler.get_scale()
    pl.seed_everything(99)
    resumed = Model(lr=0.2)
    again = trainer(tmp_path / "b", 4)
    again.fit(resumed, _loader(), _loader(False), ckpt_path=ckpt.last_model_path)
    assert again.precision_plugin.scaler.state_dict() == reference.precision_plugin.scaler.state_dict()
    for a, b in zip(straight.parameters(), resumed.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


class _Manual(Model):
    """Manual optimization doing what automatic optimization does, with optional clipping and an injected inf."""

    def __init__(self, clip=None, inf_at=None, **kw):
        super().__init__(**kw)
        self.automatic_optimization = False
        self.clip, self.inf_at, self.scales, self.hooked = clip, inf_at, [], 0

    def training_step(self, batch, batch_idx):
        opt = self.optimizers()
        x, y = batch
        loss = F.cross_entropy(self(x), y)
        opt.zero_grad()
        self.manual_backward(loss)
        if batch_idx == self.inf_at:
            self.net[0].weight.grad[0, 0] = float("inf")
        if self.clip is not None:
            self.clip_gradients(opt, gradient_clip_val=self.clip, gradient_clip_algorithm="norm")
            self.clipped_norm = float(el.stack([p.grad.norm() for p in self.parameters()]).norm())
        opt.step()
        scaler = self.trainer.precision_plugin.scaler
        self.scales.append(scaler.get_scale() if scaler is not None else None)
        self.log("train_loss", loss)

    def on_before_optimizer_step(self, optimizer):
        self.hooked += 1


def test_16_mixed_manual_optimization_scales_like_automatic(tmp_path):
    runs = []
    for model_type in (Model, _Manual):
        pl.seed_everything(3)
        model = model_type(lr=0.2)
        trainer = _trainer(tmp_path / model_type.__name__, max_epochs=2, logger=False, enable_checkpointing=False,
                           precision="16-mixed")
        trainer.fit(model, _loader())
        runs.append((model, trainer))
    (auto, auto_trainer), (manual, manual_trainer) = runs
    assert manual.hooked == manual_trainer.global_step == auto_trainer.global_step == 12
    assert manual_trainer.precision_plugin.scaler.state_dict() == auto_trainer.precision_plugin.scaler.state_dict()
    for a, b in zip(auto.parameters(), manual.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_16_mixed_manual_optimization_skips_an_inf_step_and_backs_off(tmp_path):
    pl.seed_everything(0)
    model = _Manual(inf_at=2)
    trainer = _trainer(tmp_path, max_epochs=1, logger=False, enable_checkpointing=False, precision="16-mixed")
    weights = []
    model.on_train_batch_end = lambda *a: weights.append(model.net[0].weight.detach().numpy().copy())
    trainer.fit(model, _loader())
    assert model.scales[:4] == [65536.0, 65536.0, 32768.0, 32768.0]  # backed off once, at the inf step
    np.testing.assert_array_equal(weights[1], weights[2])  # that step was skipped
    assert not np.array_equal(weights[2], weights[3])


def test_manual_clip_gradients_unscales_first_and_the_step_still_unscales_once(tmp_path):
    pl.seed_everything(0)
    model = _Manual(clip=1e-3)
    _trainer(tmp_path, max_epochs=1, logger=False, enable_checkpointing=False, precision="16-mixed").fit(
        model, _loader())
    assert model.clipped_norm <= 1e-3 * (1 + 1e-5)  # clipped in true (unscaled) units
    with pytest.raises(ValueError, match="gradient_clip_algorithm must be 'norm' or 'value'"):
        model.clip_gradients(model.optimizers(), 1.0, "max")


def test_optimizers_are_the_configured_optimizers_to_isinstance_and_attributes(tmp_path):
    model = _Manual()
    trainer = _trainer(tmp_path, max_epochs=1, logger=False, enable_checkpointing=False)
    trainer.fit(model, _loader(batch_size=90))
    wrapped, raw = model.optimizers(), model.optimizers(use_pl_optimizer=False)
    assert isinstance(wrapped, el.optim.SGD) and wrapped.optimizer is raw is trainer.optimizers[0]
    wrapped.param_groups[0]["lr"] = 0.5
    assert raw.param_groups[0]["lr"] == 0.5 and wrapped.state is raw.state


def test_no_warning_for_the_canonical_names():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in ("32-true", "16-mixed", "bf16-mixed"):
            pl.Trainer(precision=name, logger=False)
