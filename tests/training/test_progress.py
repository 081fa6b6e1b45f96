"""The progress bar's exact text: redrawn in place on a terminal (a pty), one line per epoch through a pipe."""
import io
import os
import tty

import pytest

from eagerlab.training.progress import (ProgressBar, format_eta, format_time_per_unit, format_value, keras_bar,
                                        keras_line)

END = "1875/1875 [==============================] - 2s 973us/step - loss: 0.2982 - accuracy: 0.9145"


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def _epoch(stream, clock, **kw):
    """1875 steps at ~973us each, updated every step."""
    clock.now = 100.0
    bar = ProgressBar(1875, stream=stream, clock=clock, **kw)
    for step in range(1, 1876):
        clock.now = 100.0 + step * 0.000973
        bar.update(step, [("loss", 0.5), ("accuracy", 0.75)])
    bar.finish([("loss", 0.29816), ("accuracy", 0.91449)])


def _pty_output(write):
    primary, secondary = os.openpty()
    tty.setraw(secondary)  # no newline translation: read back exactly what was written
    with os.fdopen(secondary, "w", closefd=True) as stream:
        write(stream)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 1 << 16)
        except OSError:  # EIO once the other end is closed and drained
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    return b"".join(chunks).decode()


def test_a_terminal_gets_redraws_in_place_throttled_and_the_final_line():
    out = _pty_output(lambda stream: _epoch(stream, Clock()))
    frames = out.split("\r")
    assert frames[0] == "" and frames[-1] == END + "\n"
    # the first step, then at most one redraw per 0.05 s (1875 steps take 1.82 s), and the end
    assert frames[1] == "   1/1875 [..............................] - ETA: 1s - loss: 0.5000 - accuracy: 0.7500"
    assert len(frames) - 2 == 38  # 1.82 s / 0.05 s redraws, the first step and the last
    assert frames[2] == "  53/1875 [..............................] - ETA: 1s - loss: 0.5000 - accuracy: 0.7500"
    assert frames[20] == " 989/1875 [==============>...............] - ETA: 0s - loss: 0.5000 - accuracy: 0.7500"
    assert frames[-2] == "1875/1875 [==============================] - ETA: 0s - loss: 0.5000 - accuracy: 0.7500"


def test_a_pipe_gets_one_line_per_epoch_without_carriage_returns():
    stream = io.StringIO()
    clock = Clock()
    _epoch(stream, clock)
    _epoch(stream, clock)
    assert stream.getvalue() == END + "\n" + END + "\n"
    r, w = os.pipe()
    with os.fdopen(w, "w") as pipe:
        _epoch(pipe, Clock())
    with os.fdopen(r) as read:
        assert read.read() == END + "\n"


def test_verbose_2_style_is_one_line_even_on_a_terminal():
    out = _pty_output(lambda stream: _epoch(stream, Clock(), formatter=keras_line, live=False))
    assert out == "1875/1875 - 2s - loss: 0.2982 - accuracy: 0.9145 - 973us/step\n"


def test_a_shorter_line_blanks_out_the_longer_one_before_it():
    def write(stream):
        clock = Clock()
        bar = ProgressBar(10, stream=stream, clock=clock, width=10)
        bar.update(1, [("loss", 1.0), ("accuracy", 0.5)])
        clock.now += 1
        bar.update(2)
        bar.finish(current=10)
    frames = _pty_output(write).split("\r")
    assert frames[1] == " 1/10 [>.........] - ETA: 0s - loss: 1.0000 - accuracy: 0.5000"
    shorter = " 2/10 [=>........] - ETA: 4s"
    assert frames[2] == shorter + " " * (len(frames[1]) - len(shorter))
    assert frames[3].startswith("10/10 [==========] - 1s 100ms/step") and frames[3].endswith("\n")


def test_unknown_target_and_a_custom_formatter():
    stream, clock = io.StringIO(), Clock()
    bar = ProgressBar(None, stream=stream, clock=clock)
    bar.update(64)
    clock.now += 3.2
    bar.finish([("loss", 1e-5)])
    assert stream.getvalue() == "     64/Unknown - 3s 50ms/step - loss: 1.0000e-05\n"
    stream = io.StringIO()
    bar = ProgressBar(4, stream=stream, clock=clock, unit_name="batch",
                      formatter=lambda p: f"Epoch 0: {p.current}/{p.target} {p.values} {p.unit_name} {p.finished}")
    bar.finish([("v_num", 0.0)], current=4)
    assert stream.getvalue() == "Epoch 0: 4/4 (('v_num', 0.0),) batch True\n"


def test_number_and_time_formats():
    assert [format_value(v) for v in (0.29816, 12.0, 0.001, -0.0005, 0.0, 1234.56789)] == [
        "0.2982", "12.0000", "1.0000e-03", "-5.0000e-04", "0.0000e+00", "1234.5679"]
    assert [format_eta(s) for s in (0.9, 59.9, 61.5, 3599, 3661.2)] == ["0s", "59s", "1:01", "59:59", "1:01:01"]
    assert [format_time_per_unit(s, "step") for s in (2.4, 0.0234, 0.000973, 4e-8)] == [
        "2s/step", "23ms/step", "973us/step", "0us/step"]
    with pytest.raises(ValueError, match="target must be a non-negative int or None; received 2.5"):
        ProgressBar(2.5)
    assert keras_bar.__doc__ and keras_line.__doc__


def test_finish_draws_where_training_stopped():
    stream, clock = io.StringIO(), Clock()
    bar = ProgressBar(10, stream=stream, clock=clock, width=10)
    bar.update(3)
    clock.now += 0.3
    bar.finish(lambda: [("loss", 2.0)])
    assert stream.getvalue() == " 3/10 [==>.......] - 0s 100ms/step - loss: 2.0000\n"
