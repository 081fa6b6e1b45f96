"""A PyTorch program (run unchanged on eagerlab by the drop-in runner): nn.Transformer learns to copy a sequence,
with a causal target mask from generate_square_subsequent_mask, padding masks and teacher forcing."""
import math

import torch
import torch.nn as nn

torch.manual_seed(0)
VOCAB, PAD, BOS, D = 12, 0, 1, 32


class Seq2Seq(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, D)
        self.transformer = nn.Transformer(d_model=D, nhead=4, num_encoder_layers=1, num_decoder_layers=1,
                                          dim_feedforward=64, dropout=0.0, batch_first=True)
        self.out = nn.Linear(D, VOCAB)

    def forward(self, src, tgt_in):
        mask = nn.Transformer.generate_square_subsequent_mask(tgt_in.size(1))
        h = self.transformer(self.embed(src) * math.sqrt(D), self.embed(tgt_in) * math.sqrt(D), tgt_mask=mask,
                             src_key_padding_mask=src == PAD, tgt_key_padding_mask=tgt_in == PAD,
                             memory_key_padding_mask=src == PAD, tgt_is_causal=True)
        return self.out(h)


def batch(n=32, length=6):
    src = torch.randint(2, VOCAB, (n, length))
    src[: n // 4, -2:] = PAD  # a quarter of the sequences are shorter
    tgt_in = torch.cat([torch.full((n, 1), BOS, dtype=torch.long), src[:, :-1]], dim=1)
    return src, tgt_in, src


model = Seq2Seq()
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
loss_fn = nn.CrossEntropyLoss(ignore_index=PAD)
first = None
for step in range(150):
    src, tgt_in, tgt_out = batch()
    logits = model(src, tgt_in)
    loss = loss_fn(logits.reshape(-1, VOCAB), tgt_out.reshape(-1))
    opt.zero_grad()
    loss.backward()
    opt.step()
    first = loss.item() if first is None else first
print(f"FIRST_LOSS {first:.4f}")
print(f"FINAL_LOSS {loss.item():.4f}")
