"""What every front end's training loop shares (Keras fit, the Lightning Trainer), written once."""
from .step import EvalStep, TrainStep, is_finite, make_eval_step, make_train_step, reduce_loss
from .callbacks import HOOKS, CallbackList, should_stop
from .metrics import (Mean, MeanMetricWrapper, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
                      sparse_top_k_categorical_accuracy, top_k_categorical_accuracy)
from .state import load_training_state, read_training_state, save_training_state
from .progress import Progress, ProgressBar, format_eta, format_time_per_unit, format_value, keras_bar, keras_line
