"""A PyTorch program (run unchanged on eagerlab by the drop-in runner) in word_language_model's pattern: train a
tied LSTM language model a few steps, save the whole model with torch.save(model, f), load it back inside
torch.serialization.safe_globals([...]) (weights_only, PyTorch's default), and evaluate the loaded model. A Module
class defined in this script (__main__) is saved and loaded too."""
import os
import tempfile

import torch
import torch.nn as nn

from wlm_model import RNNModel


class Temperature(nn.Module):  # lives in __main__: found again in the running script, as pickle finds it
    def __init__(self, t):
        super().__init__()
        self.t = t

    def forward(self, x):
        return x / self.t


torch.manual_seed(0)
NTOKEN, BPTT, BSZ = 20, 8, 4
stream = torch.arange(400) * 7 % NTOKEN  # a periodic token stream the model can learn
data = stream[: len(stream) // BSZ * BSZ].view(BSZ, -1).t().contiguous()
model = RNNModel(NTOKEN, 16, 2, 0.1)
model.temperature = Temperature(1.0)
criterion = nn.NLLLoss()


def evaluate(m):
    m.eval()
    total, hidden = 0.0, m.init_hidden(BSZ)
    with torch.no_grad():
        for i in range(0, data.size(0) - 1, BPTT):
            seq = min(BPTT, data.size(0) - 1 - i)
            output, hidden = m(data[i:i + seq], hidden)
            total += seq * criterion(m.temperature(output), data[i + 1:i + 1 + seq].reshape(-1)).item()
    return total / (data.size(0) - 1)


first = evaluate(model)
for epoch in range(3):
    model.train()
    hidden = model.init_hidden(BSZ)
    for i in range(0, data.size(0) - 1, BPTT):
        seq = min(BPTT, data.size(0) - 1 - i)
        hidden = tuple(h.detach() for h in hidden)
        model.zero_grad()
        output, hidden = model(data[i:i + seq], hidden)
        criterion(output, data[i + 1:i + 1 + seq].reshape(-1)).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-2.0)
before = evaluate(model)

path = os.path.join(tempfile.mkdtemp(), "model.pt")
with open(path, "wb") as f:
    torch.save(model, f)
with open(path, "rb") as f:
    try:
        torch.load(f)
        refused = 0
    except Exception as e:  # weights_only=True (the default) refuses classes that are not allow-listed
        refused = int("weights_only" in str(e).replace("Weights only", "weights_only"))
with open(path, "rb") as f:
    allowed = [RNNModel, Temperature, nn.Dropout, nn.Embedding, nn.LSTM, nn.Linear]
    with torch.serialization.safe_globals(allowed):
        model = torch.load(f)
os.remove(path)
model.rnn.flatten_parameters()
after = evaluate(model)
print(f"FIRST_LOSS {first:.6f}")
print(f"FINAL_LOSS {after:.6f}")
print(f"SAME_AFTER_LOAD {int(after == before)}")
print(f"TIED {int(model.decoder.weight is model.encoder.weight)}")
print(f"REFUSED_WITHOUT_ALLOW_LIST {refused}")
print(f"CLASSES_KEPT {int(type(model) is RNNModel and type(model.temperature) is Temperature)}")
