"""The progress bar of every front end: Keras's look by default, redrawn in place on a terminal, one line per
epoch anywhere else (a pipe, a log file, CI). The line is made by a formatter, so another front end keeps the bar's
timing and terminal handling and brings only its own format.

    1875/1875 [==============================] - 2s 973us/step - loss: 0.2982 - accuracy: 0.9145
"""
import math
import sys
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    """What a formatter draws: position, seconds since the bar started, the values, and whether it is the end."""
    current: int
    target: int | None  # None: unknown (a generator without a length)
    elapsed: float
    values: tuple  # ((name, float), ...)
    finished: bool
    width: int
    unit_name: str


def format_value(value):
    """Keras's number format: 4 decimals, scientific for magnitudes at or below 1e-3."""
    return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"


def format_eta(seconds):
    """'7s', '2:05' or '1:00:05': whole seconds, truncated as Keras does."""
    s = int(seconds)
    if s > 3600:
        return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
    if s > 60:
        return f"{s // 60}:{s % 60:02d}"
    return f"{s}s"


def format_time_per_unit(seconds, unit_name):
    """'2s/step', '973ms/step' or '41us/step', as Keras."""
    if seconds >= 1:
        return f"{seconds:.0f}s/{unit_name}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit_name}"
    return f"{seconds * 1e6:.0f}us/{unit_name}"


def _count(p):
    if p.target is None:
        return f"{p.current:7d}/Unknown"
    return f"{p.current:{len(str(p.target))}d}/{p.target}"


def _values(p):
    return "".join(f" - {name}: {format_value(float(v))}" for name, v in p.values)


def keras_bar(p):
    """Keras's verbose=1 line: count, bar, ETA while running or time and time per unit at the end, values."""
    line = _count(p)
    if p.target is not None:
        done = int(p.width * min(p.current, p.target) / p.target) if p.target else p.width
        head = "" if done == 0 else "=" * (done - 1) + ("=" if p.current >= p.target else ">")
        line += f" [{head}{'.' * (p.width - done)}]"
    per_unit = p.elapsed / p.current if p.current else 0.0
    if p.finished or p.target is None:
        line += f" - {p.elapsed:.0f}s {format_time_per_unit(per_unit, p.unit_name)}"
    else:
        line += f" - ETA: {format_eta(per_unit * (p.target - p.current))}"
    return line + _values(p)


def keras_line(p):
    """Keras's verbose=2 line, drawn once at the end: count, seconds, values, time per unit."""
    per_unit = p.elapsed / p.current if p.current else 0.0
    return f"{_count(p)} - {p.elapsed:.0f}s{_values(p)} - {format_time_per_unit(per_unit, p.unit_name)}"


class ProgressBar:
    """A bar for `target` units (None: unknown) on stream (default sys.stdout).

    On a terminal, update() redraws the line in place with '\\r' at most every `interval` seconds; elsewhere, or
    when live=False (Keras's verbose=2), only finish() writes, one line. formatter(Progress) -> str makes the line.
    """

    def __init__(self, target, stream=None, width=30, interval=0.05, unit_name="step", formatter=keras_bar,
                 live=True, clock=time.monotonic):
        if target is not None and (not isinstance(target, int) or target < 0):
            raise ValueError(f"ProgressBar: target must be a non-negative int or None; received {target!r}")
        self.target, self.width, self.interval, self.unit_name = target, width, interval, unit_name
        self.stream = sys.stdout if stream is None else stream
        self.formatter, self.clock = formatter, clock
        isatty = getattr(self.stream, "isatty", None)
        self.live = live and isatty is not None and isatty()
        self.start = clock()
        self.current, self._last_draw, self._drawn_width = 0, -math.inf, 0

    def update(self, current, values=()):
        """Move to `current` units done, showing values [(name, float), ...], or a function returning them: called
        only when the line is drawn, so metrics are read from the device only as often as the bar redraws."""
        self.current = current
        if not self.live:
            return
        now = self.clock()
        at_end = self.target is not None and current >= self.target
        if now - self._last_draw >= self.interval or at_end:
            self._last_draw = now
            self._draw(self._line(values, False, now), "")

    def finish(self, values=(), current=None):
        """Draw the final line at `current` (default: where the last update left it; short of the target when
        training stopped early) and end it with a newline; values as in update."""
        if current is not None:
            self.current = current
        self._draw(self._line(values, True, self.clock()), "\n")

    def _line(self, values, finished, now):
        values = values() if callable(values) else values
        return self.formatter(Progress(self.current, self.target, now - self.start, tuple(values), finished,
                                       self.width, self.unit_name))

    def _draw(self, line, end):
        if self.live:  # blank out what is left of a longer previous line
            out = "\r" + line + " " * max(0, self._drawn_width - len(line))
            self._drawn_width = len(line)
        else:
            out = line
        self.stream.write(out + end)
        self.stream.flush()
