"""detect_anomaly: remember where each op was called, and fail on the first backward that produces NaN."""
from .grad_mode import GradMode


class detect_anomaly:
    """Context manager: backward raises on NaN, naming the backward op and the user's forward line."""

    def __init__(self, check_nan=True):
        self._mode = bool(check_nan)

    def __enter__(self):
        self._prev = GradMode.anomaly
        GradMode.anomaly = self._mode
        return self

    def __exit__(self, *exc):
        GradMode.anomaly = self._prev
        return False


class set_detect_anomaly(detect_anomaly):
    """Set anomaly detection now (a call) or for a block (a context manager)."""

    def __init__(self, mode, check_nan=True):
        super().__init__(mode and check_nan)
        self._prev = GradMode.anomaly
        GradMode.anomaly = self._mode

    def __enter__(self):
        return self


def is_anomaly_enabled():
    return GradMode.anomaly
