"""What ends a fit besides its limits on epochs and steps: SIGTERM/SIGINT (stop after the current step) and
max_time."""
import datetime
import signal
import threading


class StopOnSignal:
    """While fitting: SIGTERM / SIGINT only set a flag (no I/O in the handler); the loop stops after the step."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self, trainer):
        self.trainer, self.previous = trainer, {}

    def __enter__(self):
        self.trainer.received_signal = None
        if threading.current_thread() is threading.main_thread():  # (handlers can only be set there)
            for sig in self.SIGNALS:
                self.previous[sig] = signal.signal(sig, self._handle)

    def _handle(self, signum, frame):
        self.trainer.received_signal = signum
        self.trainer.should_stop = True

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        return False


def max_time_seconds(max_time):
    """max_time as seconds: None, seconds, a timedelta, {"days": .., "hours": .., ...} or "DD:HH:MM:SS"."""
    if max_time is None or isinstance(max_time, (int, float)):
        return max_time
    if isinstance(max_time, datetime.timedelta):
        return max_time.total_seconds()
    if isinstance(max_time, dict):
        return datetime.timedelta(**max_time).total_seconds()
    days, hours, minutes, seconds = (int(part) for part in str(max_time).split(":"))
    return datetime.timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds).total_seconds()
