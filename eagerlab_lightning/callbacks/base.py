"""Callback: override the hooks you need; each gets (trainer, pl_module, ...), as in Lightning."""


class Callback:
    def state_dict(self):
        """What a checkpoint keeps of this callback (restored by load_state_dict on resume)."""
        return {}

    def load_state_dict(self, state):
        pass


HOOKS = ("setup", "on_fit_start", "on_sanity_check_start", "on_sanity_check_end", "on_train_start",
         "on_train_epoch_start", "on_train_batch_start", "on_before_backward", "on_after_backward",
         "on_before_optimizer_step", "on_train_batch_end", "on_validation_start", "on_validation_epoch_start",
         "on_validation_batch_start", "on_validation_batch_end", "on_validation_epoch_end", "on_validation_end",
         "on_train_epoch_end", "on_train_end", "on_fit_end", "on_test_start", "on_test_epoch_start",
         "on_test_batch_start", "on_test_batch_end", "on_test_epoch_end", "on_test_end", "on_predict_start",
         "on_predict_end", "teardown")
