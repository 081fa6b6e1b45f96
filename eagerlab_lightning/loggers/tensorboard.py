"""TensorBoardLogger: the logged metrics as TensorBoard scalars in save_dir/name/version_N, through
eagerlab.utils.tensorboard (the tensorboard package's event writer), and the hyperparameters as hparams.yaml."""
from eagerlab.utils.tensorboard import SummaryWriter

from .csv_logs import CSVLogger


class TensorBoardLogger(CSVLogger):
    """Lightning's TensorBoardLogger: the same folders as CSVLogger (lightning_logs/version_N), event files in
    them instead of metrics.csv."""

    def __init__(self, save_dir, name="lightning_logs", version=None):
        super().__init__(save_dir, name, version)
        self._experiment = None

    @property
    def experiment(self):
        """The SummaryWriter (made on first use)."""
        if self._experiment is None:
            self._experiment = SummaryWriter(self.log_dir)
        return self._experiment

    def log_metrics(self, metrics, step):
        for name, value in metrics.items():
            if name != "epoch":
                self.experiment.add_scalar(name, value, step)

    def save(self):
        if self._experiment is not None:
            self._experiment.flush()

    def finalize(self, status):
        if self._experiment is not None:
            self._experiment.close()
            self._experiment = None
