"""What each thread has of its own: grad mode and the interpreter its ops are handed to.

PyTorch semantics: grad mode is thread-local, and a new thread starts with grad enabled (and, here, eager
execution), whatever the thread that started it was doing. Class attributes are the defaults every thread sees
until it sets its own; op dispatch reads both on every call, so they are plain attributes (one lookup each).
"""
import threading


class ThreadState(threading.local):
    grad_enabled = True
    interpreter = None  # the eager interpreter, set by .interpreter when it is defined
    backward_callbacks = None  # while a backward runs: what engine.queue_callback queued, run at its end


thread_state = ThreadState()
