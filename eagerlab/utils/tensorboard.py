"""`eagerlab.utils.tensorboard.SummaryWriter`, as torch.utils.tensorboard's: scalars, histograms and text written
as TensorBoard event files through the `tensorboard` package's own event writer (the optional extra
`pip install eagerlab[tensorboard]`); eagerlab writes no record format by hand."""
import os
import socket
import time

import numpy as np


def _tensorboard():
    try:
        from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2
        from tensorboard.plugins.text import metadata as text_metadata
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
    except ImportError as e:
        raise ImportError("eagerlab.utils.tensorboard needs the tensorboard package: pip install "
                          "'eagerlab[tensorboard]' (or pip install tensorboard)") from e
    return event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2, text_metadata, EventFileWriter


def _numpy(value):
    value = value.detach().cpu().numpy() if hasattr(value, "detach") else value
    return np.asarray(value, dtype=np.float64)


class SummaryWriter:
    """Write TensorBoard events to log_dir (default runs/<date>_<host>)."""

    def __init__(self, log_dir=None, comment="", flush_secs=120, filename_suffix=""):
        self._pb = _tensorboard()
        if log_dir is None:
            log_dir = os.path.join("runs", time.strftime("%b%d_%H-%M-%S") + "_" + socket.gethostname() + comment)
        self.log_dir = os.fspath(log_dir)
        os.makedirs(self.log_dir, exist_ok=True)
        self._writer = self._pb[5](self.log_dir, flush_secs=flush_secs, filename_suffix=filename_suffix)

    def get_logdir(self):
        return self.log_dir

    def _add(self, value, global_step, walltime):
        event_pb2, summary_pb2 = self._pb[0], self._pb[1]
        event = event_pb2.Event(summary=summary_pb2.Summary(value=[value]), wall_time=walltime or time.time())
        if global_step is not None:
            event.step = int(global_step)
        self._writer.add_event(event)

    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None):
        value = float(_numpy(scalar_value).reshape(()))
        self._add(self._pb[1].Summary.Value(tag=tag, simple_value=value), global_step, walltime)

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None):
        """Each scalar under its own run folder, log_dir/main_tag_tag, as PyTorch does."""
        for tag, value in tag_scalar_dict.items():
            folder = os.path.join(self.log_dir, f"{main_tag.replace('/', '_')}_{tag}")
            child = SummaryWriter(folder)
            child.add_scalar(main_tag, value, global_step, walltime)
            child.close()

    def add_histogram(self, tag, values, global_step=None, bins="tensorflow", walltime=None):
        values = _numpy(values).ravel()
        edges = np.histogram_bin_edges(values, bins=30 if bins == "tensorflow" else bins)
        counts, edges = np.histogram(values, bins=edges)
        histo = self._pb[1].HistogramProto(min=float(values.min()), max=float(values.max()), num=len(values),
                                           sum=float(values.sum()), sum_squares=float((values ** 2).sum()),
                                           bucket_limit=[float(e) for e in edges[1:]],
                                           bucket=[float(c) for c in counts])
        self._add(self._pb[1].Summary.Value(tag=tag, histo=histo), global_step, walltime)

    def add_text(self, tag, text_string, global_step=None, walltime=None):
        _, summary_pb2, tensor_pb2, shape_pb2, text_metadata, _ = self._pb
        tensor = tensor_pb2.TensorProto(dtype="DT_STRING", string_val=[text_string.encode("utf-8")],
                                        tensor_shape=shape_pb2.TensorShapeProto(dim=[]))
        value = summary_pb2.Summary.Value(tag=tag + "/text_summary", tensor=tensor,
                                          metadata=text_metadata.create_summary_metadata(tag, ""))
        self._add(value, global_step, walltime)

    def flush(self):
        self._writer.flush()

    def close(self):
        self._writer.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
