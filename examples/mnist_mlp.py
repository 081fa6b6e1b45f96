"""The seed MLP: Flatten -> Linear(., 128) -> ReLU -> Dropout -> Linear(128, 10), trained with AdamW.

    python examples/mnist_mlp.py                 # offline: the 8x8 digits that ship with eagerlab
    python examples/mnist_mlp.py --data DIR      # MNIST IDX files in DIR
    python examples/mnist_mlp.py --precision bf16-mixed   # mixed precision (autocast; GradScaler for 16-mixed)
"""
from contextlib import nullcontext

import eagerlab as el
import eagerlab.nn as nn
import eagerlab.optim as optim
from eagerlab.utils.data import DataLoader

from _data import datasets, parse_args


class MLP(nn.Module):
    def __init__(self, side):
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(side * side, 128)
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(0.2)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        return self.fc2(self.dropout(self.relu(self.fc1(self.flatten(x)))))


def evaluate(model, loader, device):
    model.eval()
    correct = total = 0
    with el.no_grad():
        for images, labels in loader:
            predicted = model(images.to(device)).argmax(1)
            correct += (predicted == labels.to(device)).sum().item()
            total += labels.size(0)
    return correct / total


def main():
    args = parse_args(__doc__.splitlines()[0], epochs=10)
    el.manual_seed(0)
    train, test, side = datasets(args.data)
    train_loader = DataLoader(train, batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(test, batch_size=256)
    model = MLP(side).to(args.device)
    optimizer = optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    low = {"bf16-mixed": el.bfloat16, "16-mixed": el.float16}.get(args.precision)
    device_type = el.device(args.device).type
    scaler = el.amp.GradScaler(device_type, enabled=low is el.float16)
    for epoch in range(1, args.epochs + 1):
        model.train()
        for images, labels in train_loader:
            images, labels = images.to(args.device), labels.to(args.device)
            optimizer.zero_grad()
            with el.autocast(device_type, dtype=low) if low is not None else nullcontext():
                loss = loss_fn(model(images), labels)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        print(f"epoch {epoch}: loss {loss.item():.4f}, test accuracy {evaluate(model, test_loader, args.device):.4f}")


if __name__ == "__main__":
    main()
