"""GPT-style data loading: a RandomSampler with replacement and 1e10 samples (drawn lazily), a few batches."""
import json

import torch
from torch.utils.data import DataLoader, RandomSampler, TensorDataset

dataset = TensorDataset(torch.arange(100).float().view(100, 1), torch.arange(100))
sampler = RandomSampler(dataset, replacement=True, num_samples=int(1e10))
loader = DataLoader(dataset, batch_size=16, sampler=sampler)
batches = []
for i, (x, y) in enumerate(loader):
    batches.append(y.tolist())
    if i == 2:
        break
print(json.dumps({"len": len(sampler), "batches": batches, "framework": torch.__name__}))
