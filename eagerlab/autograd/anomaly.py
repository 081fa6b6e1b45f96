"""detect_anomaly: remember where each op was called, and fail on the first backward that produces NaN."""


class AnomalyMode:
    """Process-wide, as PyTorch's (a debugging switch, not a per-thread mode)."""

    enabled = False


class detect_anomaly:
    """Context manager: backward raises on NaN, naming the backward op and the user's forward line."""

    def __init__(self, check_nan=True):
        self._mode = bool(check_nan)

    def __enter__(self):
        self._prev = AnomalyMode.enabled
        AnomalyMode.enabled = self._mode
        return self

    def __exit__(self, *exc):
        AnomalyMode.enabled = self._prev
        return False


class set_detect_anomaly(detect_anomaly):
    """Set anomaly detection now (a call) or for a block (a context manager)."""

    def __init__(self, mode, check_nan=True):
        super().__init__(mode and check_nan)
        self._prev = AnomalyMode.enabled
        AnomalyMode.enabled = self._mode

    def __enter__(self):
        return self


def is_anomaly_enabled():
    return AnomalyMode.enabled
