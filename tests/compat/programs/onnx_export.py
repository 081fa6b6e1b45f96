"""torch.onnx.export as a PyTorch script writes it (opset_version, dynamic_axes, training=TrainingMode.EVAL, ...),
of a model left in training mode; prints the mode after the export, an input of another batch size and the eval
model's output for it, for the test to run the file in onnxruntime."""
import io
import json
import sys

import torch
import torch.nn as nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 2))
args = (torch.randn(4, 3),)
torch.onnx.export(model, args, sys.argv[1], export_params=True, opset_version=17, do_constant_folding=True,
                  input_names=["input"], output_names=["output"],
                  dynamic_axes={"input": {0: "batch_size"}, "output": {0: "batch_size"}}, verbose=False,
                  training=torch.onnx.TrainingMode.EVAL)
buffer = io.BytesIO()
torch.onnx.export(model, args, buffer)
still_training = model.training
model.eval()
x = torch.randn(7, 3)
with torch.no_grad():
    y = model(x)
print(json.dumps({"framework": torch.__name__, "training": still_training, "buffer_bytes": len(buffer.getvalue()),
                  "x": x.tolist(), "y": y.tolist()}))
