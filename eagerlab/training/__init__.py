"""What every front end's training loop shares (Keras fit, the Lightning Trainer), written once: the compiled
step, the callback dispatcher, the progress bar, streaming metrics and training-state records."""
from .callbacks import HOOKS, CallbackList, should_stop
from .metrics import (Mean, MeanMetricWrapper, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
                      sparse_top_k_categorical_accuracy, top_k_categorical_accuracy)
from .progress import Progress, ProgressBar, format_eta, format_time_per_unit, format_value, keras_bar, keras_line
from .state import load_training_state, read_training_state, save_training_state
from .step import (EvalStep, TrainStep, batch_polymorphic, is_finite, make_eval_step, make_train_step,
                   reduce_loss)
