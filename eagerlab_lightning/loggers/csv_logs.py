"""CSVLogger: every logged row in save_dir/name/version_N/metrics.csv (one column per metric, as Lightning's), the
hyperparameters in hparams.yaml beside it."""
import csv
import os
import re


def _next_version(root):
    if not os.path.isdir(root):
        return 0
    found = [int(m.group(1)) for d in os.listdir(root) if (m := re.fullmatch(r"version_(\d+)", d))]
    return max(found) + 1 if found else 0


class CSVLogger:
    def __init__(self, save_dir, name="lightning_logs", version=None, flush_logs_every_n_steps=100):
        self.save_dir, self.name = os.fspath(save_dir), name or ""
        self._version = version
        self.rows, self.flush_every = [], flush_logs_every_n_steps

    @property
    def version(self):
        if self._version is None:
            self._version = _next_version(os.path.join(self.save_dir, self.name))
        return self._version

    @property
    def log_dir(self):
        version = self.version if isinstance(self.version, str) else f"version_{self.version}"
        return os.path.join(self.save_dir, self.name, version)

    def log_hyperparams(self, params):
        """hparams.yaml: one `key: value` line per hyperparameter (numbers, strings, booleans, None)."""
        os.makedirs(self.log_dir, exist_ok=True)
        with open(os.path.join(self.log_dir, "hparams.yaml"), "w") as f:
            for key, value in params.items():
                f.write(f"{key}: {_yaml(value)}\n")

    def log_metrics(self, metrics, step):
        self.rows.append({**metrics, "step": step})
        if len(self.rows) % self.flush_every == 0:
            self.save()

    def save(self):
        """Rewrite metrics.csv with every row so far (its columns: every metric any row has)."""
        if not self.rows:
            return
        os.makedirs(self.log_dir, exist_ok=True)
        columns = list(dict.fromkeys(k for row in self.rows for k in row))
        path = os.path.join(self.log_dir, "metrics.csv")
        tmp = path + ".tmp"
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, columns)
            writer.writeheader()
            writer.writerows(self.rows)
        os.replace(tmp, path)

    def finalize(self, status):
        self.save()


def _yaml(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
