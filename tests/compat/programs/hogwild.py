"""A PyTorch program (run unchanged on eagerlab by the drop-in runner): the hogwild pattern of pytorch/examples'
mnist_hogwild. One model in shared memory, trained by two spawned processes with their own optimizers."""
import torch
import torch.multiprocessing as mp
import torch.nn as nn
import torch.nn.functional as F


def make_data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(512, 8, generator=g)
    y = (x[:, :1] - 2 * x[:, 1:2] + 0.5 * x[:, 2:3] > 0).long().squeeze(1)
    return x, y


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.fc2 = nn.Linear(16, 2)

    def forward(self, x):
        return F.log_softmax(self.fc2(F.relu(self.fc1(x))), dim=1)


def train(rank, model, epochs):
    torch.manual_seed(1 + rank)
    x, y = make_data()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=32, shuffle=True)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    for _ in range(epochs):
        for data, target in loader:
            optimizer.zero_grad()
            F.nll_loss(model(data), target).backward()
            optimizer.step()


def evaluate(model):
    x, y = make_data()
    with torch.no_grad():
        out = model(x)
        return F.nll_loss(out, y).item(), (out.argmax(1) == y).float().mean().item()


if __name__ == "__main__":
    torch.manual_seed(0)
    mp.set_start_method("spawn", force=True)
    model = Net()
    model.share_memory()  # gradients are allocated lazily, so they are not shared
    first, _ = evaluate(model)
    processes = [mp.Process(target=train, args=(rank, model, 3)) for rank in range(2)]
    for p in processes:
        p.start()
    for p in processes:
        p.join()
    assert all(p.exitcode == 0 for p in processes), [p.exitcode for p in processes]
    final, accuracy = evaluate(model)
    print(f"FIRST_LOSS {first:.4f}")
    print(f"FINAL_LOSS {final:.4f}")
    print(f"ACCURACY {accuracy:.3f}")
